from django.db import migrations, models
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy, remedy_sql

PARTITIONED = migrations.RunSQL(
    "CREATE TABLE shop_event (id bigint, at date) PARTITION BY RANGE (at);"
    "CREATE TABLE shop_event_2025 PARTITION OF shop_event "
    "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
)
SETUP = [order_model(), PARTITIONED]


def so222(findings):
    return [f for f in findings if f.code == "SO222"]


def test_concurrent_index_on_a_partitioned_table_fails_and_gets_the_on_only_recipe():
    sql = "CREATE INDEX CONCURRENTLY shop_event_at ON shop_event (at)"
    op = migrations.RunSQL(sql, migrations.RunSQL.noop)
    (f,) = so222(lint_remedy([op], setup=SETUP, atomic=False))
    assert "not supported on a partitioned table" in f.message
    assert remedy_sql(f.recipe) == [
        "CREATE INDEX IF NOT EXISTS shop_event_at ON ONLY shop_event (at)",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS shop_event_2025_shop_event_at "
        "ON shop_event_2025 (at)",
        "ALTER INDEX shop_event_at ATTACH PARTITION shop_event_2025_shop_event_at",
    ]


def test_plain_index_on_a_partitioned_table_is_reported_once():
    op = migrations.RunSQL("CREATE INDEX e_at ON shop_event (lower(at::text))")
    found = lint_remedy([op], SETUP)
    (f,) = so222(found)
    assert "1 partition(s)" in f.message and "(lower(CAST(at AS text)))" in f.recipe
    assert "ON ONLY shop_event" in f.recipe and "atomic = False" in f.recipe
    assert "SO201" not in codes(found)  # CONCURRENTLY is no fix here


def test_on_only_and_ordinary_tables_are_left_to_other_rules():
    on_only = migrations.RunSQL("CREATE INDEX e_at ON ONLY shop_event (at)")
    assert not so222(lint([on_only], setup=SETUP))
    plain = migrations.AddIndex("order", models.Index(fields=["code"], name="order_code_idx"))
    found = lint([plain], setup=SETUP)
    assert not so222(found) and "SO201" in codes(found)


def test_add_index_on_a_model_whose_table_is_partitioned_gets_the_on_only_remedy():
    partition = migrations.RunSQL(
        "CREATE TABLE shop_order_2025 PARTITION OF shop_order DEFAULT", migrations.RunSQL.noop
    )
    add = migrations.AddIndex("order", models.Index(fields=["code"], name="order_code_idx"))
    (f,) = so222(lint_remedy([add], setup=[order_model(), partition]))
    sql = remedy_sql(f.recipe)
    assert "CREATE INDEX IF NOT EXISTS order_code_idx ON ONLY shop_order (code)" in sql
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS shop_order_2025_order_code_idx" in sql[1]
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_code_idx ON shop_order" not in f.recipe
    assert "AddIndex(" in f.recipe  # the state keeps the operation
