from django.db import migrations
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy, remedy_migrations, remedy_sql


def test_add_column_json_fires_with_jsonb_recipe():
    op = migrations.RunSQL(
        "ALTER TABLE shop_order ADD COLUMN payload json",
        reverse_sql="ALTER TABLE shop_order DROP COLUMN payload",
    )
    findings = [f for f in lint_remedy([op], setup=[order_model()]) if f.code == "SO601"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "warning"
    assert "shop_order.payload" in f.message and "jsonb" in f.message
    ((_, migration),) = remedy_migrations(f.recipe)
    (run,) = migration.operations
    assert run.sql == ["ALTER TABLE shop_order ADD COLUMN payload jsonb"]
    assert run.reverse_sql == ["ALTER TABLE shop_order DROP COLUMN IF EXISTS payload"]


def test_create_table_and_alter_type_to_json_fire():
    ops = [
        migrations.RunSQL("CREATE TABLE audit_log (id bigint PRIMARY KEY, body json)"),
        migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code TYPE json USING code::json"),
    ]
    findings = [f for f in lint_remedy(ops, setup=[order_model()]) if f.code == "SO601"]
    assert [f.operation for f in findings] == [0, 1]
    assert "audit_log.body" in findings[0].message
    # each remedy shows the files replacing the migration: its operation retyped
    first, second = remedy_sql(findings[0].recipe), remedy_sql(findings[1].recipe)
    assert first[0] == "CREATE TABLE audit_log (id bigint PRIMARY KEY, body jsonb)"
    assert second[-1] == (
        "ALTER TABLE shop_order ALTER COLUMN code TYPE jsonb USING CAST(code AS jsonb)"
    )


def test_jsonb_and_json_functions_are_safe():
    ops = [
        migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN payload jsonb"),
        migrations.RunSQL("SELECT json_build_object('a', 1)"),
    ]
    assert "SO601" not in codes(lint(ops, setup=[order_model()]))
