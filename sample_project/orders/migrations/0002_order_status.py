# Unsafe: NOT NULL with a Python-side default. Django adds the column with a
# DEFAULT, then drops the DEFAULT: the old code's INSERTs (which do not know
# the column) fail from that moment on.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="status",
            field=models.CharField(default="new", max_length=20),
        ),
    ]
