# Safe: the index is built CONCURRENTLY outside a transaction.
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("products", "0002_product_category")]

    operations = [
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(fields=["name"], name="product_name_idx"),
        ),
    ]
