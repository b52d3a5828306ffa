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


def test_set_not_null_proven_by_a_validated_check_is_no_scan():
    """What the planner writes (SO109's recipe): the CHECK validated, SET NOT NULL needs no
    scan; without the CHECK the same SET NOT NULL scans under ACCESS EXCLUSIVE."""
    table = "ALTER TABLE shop_order"
    set_not_null = f"{table} ALTER COLUMN legacy SET NOT NULL"
    proven = [
        f"{table} ADD CONSTRAINT legacy_nn CHECK (legacy IS NOT NULL) NOT VALID",
        f"{table} VALIDATE CONSTRAINT legacy_nn",
        set_not_null,
    ]
    assert so402([migrations.RunSQL(proven, migrations.RunSQL.noop)]) == []
    [f] = so402([migrations.RunSQL(set_not_null, migrations.RunSQL.noop)])
    assert "scans shop_order under ACCESS EXCLUSIVE" in f.message


def test_a_concurrent_refresh_blocks_no_query():
    """REFRESH ... CONCURRENTLY holds EXCLUSIVE: reads go on, and nothing but a refresh
    writes a materialized view; the plain REFRESH (ACCESS EXCLUSIVE) blocks reads."""
    view = "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS id"
    setup = migrations.RunSQL([view, "CREATE UNIQUE INDEX mv_id ON mv (id)"])
    concurrent = migrations.RunSQL("REFRESH MATERIALIZED VIEW CONCURRENTLY mv", "")
    plain = migrations.RunSQL("REFRESH MATERIALIZED VIEW mv", "")
    assert [
        f
        for f in lint([concurrent], setup=[setup], config=Config())
        if f.code in ("SO401", "SO402")
    ] == []
    assert {f.code for f in lint([plain], setup=[setup], config=Config())} >= {"SO401", "SO402"}
