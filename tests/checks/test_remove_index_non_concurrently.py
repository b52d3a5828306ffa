import contextlib

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations, models
from lintkit import codes, lint
from models import order_model
from planned import planned

INDEX = models.Index(fields=["code"], name="order_code_idx")


def setup():
    return [
        order_model(("ref", models.CharField(max_length=10, null=True, db_index=True))),
        migrations.AddIndex("order", INDEX),
    ]


def test_remove_index_fires_with_access_exclusive_and_concurrent_recipe():
    findings = lint([migrations.RemoveIndex("order", "order_code_idx")], setup())
    findings = [f for f in findings if f.code == "SO202"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "warning"
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert "order_code_idx" in f.message and "shop_order" in f.message
    assert "schemaops fix shop 0002_change" in f.recipe
    recipe = planned([migrations.RemoveIndex("order", "order_code_idx")], setup())
    assert "DROP INDEX CONCURRENTLY IF EXISTS order_code_idx" in recipe
    assert "atomic = False" in recipe


def test_remove_index_concurrently_is_safe():
    op = RemoveIndexConcurrently("order", "order_code_idx")
    assert "SO202" not in codes(lint([op], setup(), atomic=False))


def test_alter_field_dropping_db_index_fires_and_drops_like_index_too():
    op = migrations.AlterField("order", "ref", models.CharField(max_length=10, null=True))
    findings = [f for f in lint([op], setup()) if f.code == "SO202"]
    assert len(findings) == 1
    recipe = planned([op], setup())
    assert "SeparateDatabaseAndState" in recipe
    assert "DROP INDEX CONCURRENTLY IF EXISTS shop_order_ref_" in recipe
    assert "_like" in recipe


def test_alter_field_keeping_index_is_safe():
    op = migrations.AlterField(
        "order", "ref", models.CharField(max_length=10, null=True, db_index=True, help_text="x")
    )
    assert "SO202" not in codes(lint([op], setup()))


def test_runsql_drop_index_fires_and_concurrently_does_not():
    bad = lint([migrations.RunSQL("DROP INDEX order_code_idx")], setup())
    good = lint(
        [migrations.RunSQL("DROP INDEX CONCURRENTLY order_code_idx")], setup(), atomic=False
    )
    finding = next(f for f in bad if f.code == "SO202")
    assert "on shop_order" in finding.message
    assert "DROP INDEX CONCURRENTLY IF EXISTS order_code_idx" in finding.recipe
    assert "SO202" not in codes(good)


def test_drop_index_of_table_created_in_same_migration_is_exempt():
    ops = [
        order_model(),
        migrations.AddIndex("order", INDEX),
        migrations.RemoveIndex("order", "order_code_idx"),
    ]
    assert "SO202" not in codes(lint(ops))


class TryRemoveIndex(migrations.RemoveIndex):
    """A project's own subclass (django-celery-results ships one)."""

    def database_forwards(self, *args, **kwargs):
        with contextlib.suppress(Exception):
            super().database_forwards(*args, **kwargs)


class DropCodeIndex(migrations.operations.base.Operation):
    """A custom operation that drops the index in SQL and removes it from the state."""

    reduces_to_sql = True
    model_name_lower = "order"

    def state_forwards(self, app_label, state):
        state.remove_index(app_label, "order", "order_code_idx")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute("DROP INDEX order_code_idx")


def test_subclass_of_remove_index_is_reported_once_as_remove_index():
    findings = [f for f in lint([TryRemoveIndex("order", "order_code_idx")], setup())]
    so202 = [f for f in findings if f.code == "SO202"]
    assert len(so202) == 1
    assert so202[0].message == "RemoveIndex drops order_code_idx on shop_order without CONCURRENTLY"


def test_custom_operation_dropping_an_index_names_its_table():
    findings = [f for f in lint([DropCodeIndex()], setup()) if f.code == "SO202"]
    assert len(findings) == 1
    assert findings[0].message == "DROP INDEX order_code_idx on shop_order without CONCURRENTLY"
    assert findings[0].lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
