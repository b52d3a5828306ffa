from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy, remedy_migrations

INDEX = models.Index(fields=["code"], name="order_code_idx")


def so210(findings):
    return [f for f in findings if f.code == "SO210"]


def test_add_index_concurrently_in_atomic_migration_is_an_error():
    findings = so210(lint_remedy([AddIndexConcurrently("order", INDEX)], setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "error"
    assert "AddIndexConcurrently order_code_idx" in f.message and "shop.0002_change" in f.message
    assert f.lock.startswith('SHARE UPDATE EXCLUSIVE on "shop_order"')
    ((name, migration),) = remedy_migrations(f.recipe)
    assert name == "0002_change" and migration.atomic is False
    (separate,) = migration.operations
    assert separate.state_operations[0].index.name == "order_code_idx"  # the state as it was
    assert "CREATE INDEX CONCURRENTLY" in separate.database_operations[0].sql[0]


def test_concurrent_operations_in_non_atomic_migration_are_fine():
    ops = [AddIndexConcurrently("order", INDEX), RemoveIndexConcurrently("order", "order_code_idx")]
    assert "SO210" not in codes(lint(ops, setup=[order_model()], atomic=False))


def test_runsql_concurrently_in_atomic_migration_fires():
    for sql in [
        "CREATE INDEX CONCURRENTLY i ON shop_order (code)",
        "DROP INDEX CONCURRENTLY i",
        "REINDEX INDEX CONCURRENTLY i",
    ]:
        (f,) = so210(lint_remedy([migrations.RunSQL(sql)], setup=[order_model()]))
        ((_name, migration),) = remedy_migrations(f.recipe)
        assert migration.atomic is False, sql
    plain = "CREATE INDEX i ON shop_order (code)"
    assert "SO210" not in codes(lint([migrations.RunSQL(plain)], setup=[order_model()]))


def test_a_concurrent_index_inside_a_state_split_gets_the_atomic_false_recipe():
    """The planner cannot lift the operation out of a SeparateDatabaseAndState: the
    rule's own recipe says what to change, the migration's atomic."""
    split = migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AddIndex("order", INDEX)],
        database_operations=[AddIndexConcurrently("order", INDEX)],
    )
    (f,) = so210(lint_remedy([split], setup=[order_model()]))
    assert f.recipe.startswith("# shop/migrations/0002_change.py")
    assert "    atomic = False" in f.recipe
    assert not so210(lint([split], setup=[order_model()], atomic=False))
