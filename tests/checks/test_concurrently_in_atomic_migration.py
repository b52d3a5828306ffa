from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models
from lintkit import codes, lint
from models import order_model

INDEX = models.Index(fields=["code"], name="order_code_idx")


def so210(findings):
    return [f for f in findings if f.code == "SO210"]


def test_add_index_concurrently_in_atomic_migration_is_an_error():
    findings = so210(lint([AddIndexConcurrently("order", INDEX)], setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "error"
    assert "AddIndexConcurrently order_code_idx" in f.message and "shop.0002_change" in f.message
    assert f.lock.startswith('SHARE UPDATE EXCLUSIVE on "shop_order"')
    assert "atomic = False" in f.recipe and "AddIndexConcurrently(" in f.recipe
    compile(f.recipe, "recipe", "exec")
    assert "from django.contrib.postgres.operations import AddIndexConcurrently" in f.recipe


def test_concurrent_operations_in_non_atomic_migration_are_fine():
    ops = [AddIndexConcurrently("order", INDEX), RemoveIndexConcurrently("order", "order_code_idx")]
    assert "SO210" not in codes(lint(ops, setup=[order_model()], atomic=False))


def test_runsql_concurrently_in_atomic_migration_fires():
    for sql in [
        "CREATE INDEX CONCURRENTLY i ON shop_order (code)",
        "DROP INDEX CONCURRENTLY i",
        "REINDEX INDEX CONCURRENTLY i",
    ]:
        assert len(so210(lint([migrations.RunSQL(sql)], setup=[order_model()]))) == 1, sql
    plain = "CREATE INDEX i ON shop_order (code)"
    assert "SO210" not in codes(lint([migrations.RunSQL(plain)], setup=[order_model()]))
