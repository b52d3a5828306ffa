from django.db import migrations, models
from lintkit import codes, lint
from models import order_model


def test_get_latest_by_unindexed_column_fires():
    op = migrations.AlterModelOptions("order", {"get_latest_by": "amount"})
    [f] = [f for f in lint([op], setup=[order_model()]) if f.code == "SO503"]
    assert f.severity.label == "info"
    assert "Order.Meta.get_latest_by = 'amount'" in f.message
    assert "Order.objects.latest() reads the whole table" in f.message
    assert "models.Index(fields=['amount']" in f.recipe
    assert "CREATE INDEX CONCURRENTLY" in f.recipe


def test_get_latest_by_indexed_column_is_safe():
    setup = [order_model(("placed", models.DateTimeField(db_index=True, null=True)))]
    op = migrations.AlterModelOptions("order", {"get_latest_by": ["-placed"]})
    assert "SO503" not in codes(lint([op], setup=setup))
