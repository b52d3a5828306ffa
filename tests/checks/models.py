"""Reusable setup operations for rule tests: an ``order`` model in app ``shop``."""

from django.db import migrations, models


def order_model(*extra_fields, options=None):
    return migrations.CreateModel(
        name="Order",
        fields=[
            ("id", models.BigAutoField(primary_key=True)),
            ("code", models.CharField(max_length=20)),
            ("legacy", models.CharField(max_length=20, null=True)),
            ("amount", models.IntegerField(default=0)),
            *extra_fields,
        ],
        options=options or {},
    )


def customer_model():
    return migrations.CreateModel(
        name="Customer",
        fields=[
            ("id", models.BigAutoField(primary_key=True)),
            ("email", models.CharField(max_length=100)),
        ],
    )


def coupon_model():
    """A model with a foreign key to Order and an auto-created many-to-many to Customer."""
    return migrations.CreateModel(
        name="Coupon",
        fields=[
            ("id", models.BigAutoField(primary_key=True)),
            ("order", models.ForeignKey("shop.Order", on_delete=models.CASCADE)),
            ("customers", models.ManyToManyField("shop.Customer")),
        ],
    )
