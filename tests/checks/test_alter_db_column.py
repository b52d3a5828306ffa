from django.db import migrations, models
from lintkit import codes, lint
from models import customer_model, order_model


def test_db_column_change_fires():
    op = migrations.AlterField("order", "code", models.CharField(max_length=20, db_column="ref"))
    findings = lint([op], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO105"]
    assert len(findings) == 1
    f = findings[0]
    assert "shop_order.code to ref" in f.message
    assert 'db_column="code"' in f.recipe
    assert "backfill" in f.recipe and "post-deploy" in f.recipe


def test_db_column_equal_to_current_column_is_safe():
    op = migrations.AlterField("order", "code", models.CharField(max_length=20, db_column="code"))
    assert "SO105" not in codes(lint([op], setup=[order_model()]))


def test_removing_db_column_renames_back_and_fires():
    setup = [order_model(("ref", models.CharField(max_length=5, db_column="ref_col")))]
    op = migrations.AlterField("order", "ref", models.CharField(max_length=5))
    findings = lint([op], setup=setup)
    findings = [f for f in findings if f.code == "SO105"]
    assert len(findings) == 1
    assert "ref_col to ref" in findings[0].message


def test_db_column_change_on_new_table_is_exempt():
    op = migrations.AlterField("order", "code", models.CharField(max_length=20, db_column="ref"))
    assert "SO105" not in codes(lint([order_model(), op]))


def test_foreign_key_turned_plain_field_says_why_the_column_is_renamed():
    """wagtail 0070: AlterField(page FK -> CharField) renames page_id to page."""
    setup = [
        customer_model(),
        order_model(("customer", models.ForeignKey("shop.Customer", on_delete=models.CASCADE))),
    ]
    op = migrations.AlterField("order", "customer", models.CharField(max_length=255))
    (f,) = [f for f in lint([op], setup=setup) if f.code == "SO105"]
    assert "renames column shop_order.customer_id to customer (a foreign key becomes" in f.message
    assert "db_column" not in f.message
    assert 'db_column="customer_id"' in f.recipe  # keep the column: pin the old name
