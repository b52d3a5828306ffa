from django.db import migrations, models
from lintkit import lint
from models import order_model

from schemaops.config import Config

WIDEN = migrations.AlterField("order", "amount", models.BigIntegerField(default=0))


def so402(ops, **kw):
    kw.setdefault("config", Config())
    return [f for f in lint(ops, setup=[order_model()], **kw) if f.code == "SO402"]


def test_rewrite_under_blocking_lock_without_statement_timeout_fires():
    [f] = so402([WIDEN])
    assert f.severity.label == "info"
    assert "rewrites or scans shop_order under ACCESS EXCLUSIVE" in f.message
    assert "SET LOCAL statement_timeout = '1h'" in f.recipe


def test_configured_statement_timeout_is_the_recipe_value():
    [f] = so402([WIDEN], config=Config(statement_timeout="20min"))
    assert "SET LOCAL statement_timeout = '20min'" in f.recipe


def test_statement_timeout_set_first_is_safe():
    first = migrations.RunSQL("SET LOCAL statement_timeout = '30min'", migrations.RunSQL.noop)
    assert so402([first, WIDEN]) == []


def test_brief_lock_without_a_scan_is_left_to_lock_timeout():
    add = migrations.AddField("order", "note", models.TextField(null=True))
    assert so402([add]) == []


def test_assume_timeouts_silences_it():
    assert so402([WIDEN], config=Config(assume_timeouts=True)) == []
