"""Many-to-many changes are judged by the SQL Django runs on the join table."""

from django.db import migrations, models
from lintkit import codes, lint
from models import coupon_model, customer_model, order_model

SETUP = [order_model(), customer_model(), coupon_model()]


def test_repointing_a_many_to_many_renames_the_join_column_and_revalidates_its_fk():
    repoint = migrations.AlterField("coupon", "customers", models.ManyToManyField("shop.Order"))
    findings = lint([repoint], setup=SETUP)
    rename = next(f for f in findings if f.code == "SO103")
    assert "shop_coupon_customers.customer_id to order_id" in rename.message
    fk = next(f for f in findings if f.code == "SO204")
    assert "from shop_coupon_customers to shop_order without NOT VALID" in fk.message
    assert all(f.operation == 0 for f in findings)


def test_a_many_to_many_change_without_sql_is_silent():
    blank = migrations.AlterField(
        "coupon", "customers", models.ManyToManyField("shop.Customer", blank=True)
    )
    assert codes(lint([blank], setup=SETUP)) == []


def test_join_table_statements_feed_the_lock_map():
    from schemaops.config import Config

    repoint = migrations.AlterField("coupon", "customers", models.ManyToManyField("shop.Order"))
    findings = lint([repoint], setup=SETUP, config=Config())
    timeout = next(f for f in findings if f.code == "SO401")
    assert "shop_coupon_customers" in timeout.message
