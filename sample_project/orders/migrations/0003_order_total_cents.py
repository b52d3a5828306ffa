# Safe: a nullable column; it is filled by `schemaops backfill`, not here.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_order_status")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="total_cents",
            field=models.BigIntegerField(null=True),
        ),
    ]
