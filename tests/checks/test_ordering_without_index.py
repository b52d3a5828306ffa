from django.db import migrations, models
from lintkit import codes, lint
from models import order_model


def test_ordering_by_unindexed_column_fires_with_index_recipe():
    op = migrations.AlterModelOptions("order", {"ordering": ["-amount", "id"]})
    [f] = [f for f in lint([op], setup=[order_model()]) if f.code == "SO502"]
    assert f.severity.label == "info"
    assert "Order.Meta.ordering = ['-amount', 'id'] sorts shop_order by amount" in f.message
    assert "models.Index(fields=['-amount', 'id'], name='order_amount_id_idx')" in f.recipe


def test_ordering_on_new_model_fires_at_create_model():
    findings = lint([order_model(options={"ordering": ["code"]})])
    assert [(f.code, f.operation) for f in findings if f.code == "SO502"] == [("SO502", 0)]


def test_ordering_by_indexed_column_is_safe():
    index = models.Index(fields=["amount"], name="amount_idx")
    ops = [
        migrations.AlterModelOptions("order", {"ordering": ["-amount"]}),
        migrations.AddIndex("order", index),
    ]
    assert "SO502" not in codes(lint(ops, setup=[order_model()]))


def test_ordering_by_primary_key_or_related_field_is_not_judged():
    for ordering in (["-id"], ["pk"], ["legacy__name"], ["?"]):
        op = migrations.AlterModelOptions("order", {"ordering": ordering})
        assert "SO502" not in codes(lint([op], setup=[order_model()])), ordering
