"""Squashed migrations (``replaces``) run only on databases without the replaced ones.

Django applies a squashed migration only where none of the migrations it replaces
ran: there is no data, no running release and nobody waiting on a lock, so rules
about locks, rewrites, old code and backfills stay silent; what PostgreSQL refuses
on any database, and the hygiene of what is created, is still reported.
"""

from django.db import migrations, models
from lintkit import codes, lint
from models import order_model

UNSAFE = [
    migrations.AddIndex("order", models.Index(fields=["code"], name="order_code_idx")),
    migrations.RemoveField("order", "legacy"),
    migrations.AddField("order", "sku", models.CharField(max_length=5)),
]
REPLACES = [("shop", "0002_a"), ("shop", "0003_b")]


def test_lock_and_break_rules_fire_on_an_ordinary_migration():
    found = set(codes(lint(UNSAFE, setup=[order_model()])))
    assert {"SO101", "SO201"} <= found


def test_squashed_migration_is_linted_as_work_on_new_empty_tables():
    found = codes(lint(UNSAFE, setup=[order_model()], replaces=REPLACES))
    assert not [c for c in found if c[:3] in ("SO1", "SO2", "SO3", "SO4", "SO5")], found


def test_squashed_migration_still_reports_what_postgresql_refuses():
    sql = migrations.RunSQL(
        "CREATE INDEX CONCURRENTLY order_id_idx ON shop_order (id)",
        reverse_sql="DROP INDEX order_id_idx",
    )
    commit = migrations.RunSQL("COMMIT; ANALYZE shop_order", reverse_sql=migrations.RunSQL.noop)
    found = codes(lint([sql, commit], setup=[order_model()], replaces=REPLACES))
    assert "SO210" in found and "SO403" in found
