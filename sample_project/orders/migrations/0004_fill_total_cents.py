# Unsafe: a data migration without a reverse, run as one big transaction.
from django.db import migrations
from django.db.models import F


def fill_total_cents(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.filter(total_cents__isnull=True).update(total_cents=F("total") * 100)


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_order_total_cents")]

    operations = [
        migrations.RunPython(fill_total_cents),
    ]
