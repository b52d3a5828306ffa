from django.db import migrations
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy, remedy_migrations

SQL = "BEGIN; UPDATE shop_order SET code = upper(code); COMMIT;"


def test_begin_commit_in_atomic_migration_fires_with_recipe_without_them():
    op = migrations.RunSQL(SQL, reverse_sql=migrations.RunSQL.noop)
    findings = [f for f in lint_remedy([op], setup=[order_model()]) if f.code == "SO403"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "error"
    assert "shop.0002_change" in f.message and "BEGIN, COMMIT" in f.message
    ((_, migration),) = remedy_migrations(f.recipe)
    (run,) = migration.operations
    assert run.sql == ["UPDATE shop_order SET code = upper(code)"]
    assert run.reverse_sql == migrations.RunSQL.noop


def test_rollback_in_reverse_sql_and_savepoint_fire():
    op = migrations.RunSQL(
        ["SAVEPOINT s1", "UPDATE shop_order SET amount = 0"], reverse_sql="ROLLBACK"
    )
    f = next(f for f in lint_remedy([op], setup=[order_model()]) if f.code == "SO403")
    assert "sql runs SAVEPOINT" in f.message and "reverse_sql runs ROLLBACK" in f.message
    ((_, migration),) = remedy_migrations(f.recipe)
    (run,) = migration.operations
    assert run.sql == ["UPDATE shop_order SET amount = 0"] and not run.reverse_sql


def test_same_sql_in_non_atomic_migration_is_safe():
    op = migrations.RunSQL(SQL, reverse_sql=migrations.RunSQL.noop)
    assert "SO403" not in codes(lint([op], setup=[order_model()], atomic=False))


def test_plain_sql_in_atomic_migration_is_safe():
    op = migrations.RunSQL("UPDATE shop_order SET code = upper(code)")
    assert "SO403" not in codes(lint([op], setup=[order_model()]))
