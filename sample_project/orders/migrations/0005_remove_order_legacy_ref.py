# Unsafe in a pre-deploy migration: the running code still selects legacy_ref.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_fill_total_cents")]

    operations = [
        migrations.RemoveField(model_name="order", name="legacy_ref"),
    ]
