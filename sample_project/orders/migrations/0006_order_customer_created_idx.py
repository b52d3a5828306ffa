# Safe: a concurrent index build in a non-atomic migration.
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("orders", "0005_remove_order_legacy_ref")]

    operations = [
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(fields=["customer", "-created_at"],
                               name="order_customer_created_idx"),
        ),
    ]
