# Safe: a nullable column is added without a rewrite and old code ignores it.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="phone",
            field=models.CharField(blank=True, max_length=32, null=True),
        ),
    ]
