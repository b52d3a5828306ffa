from django.db import models


class Product(models.Model):
    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=64, null=True, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    stock = models.IntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["category"], name="product_category_idx"),
            models.Index(fields=["name"], name="product_name_idx"),
        ]

    def __str__(self):
        return self.sku
