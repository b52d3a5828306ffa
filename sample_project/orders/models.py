from django.db import models


class Order(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT,
                                 related_name="orders")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=20, default="new")
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    total_cents = models.BigIntegerField(null=True)
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="order_customer_created_idx")]


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("products.Product", on_delete=models.PROTECT, db_index=False)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
