from django.db import migrations
from lintkit import codes, lint
from models import order_model


def test_remove_field_on_existing_table_fires():
    findings = lint([migrations.RemoveField("order", "legacy")], setup=[order_model()])
    assert codes(findings) == ["SO101"]
    f = findings[0]
    assert f.severity.label == "error"
    assert "shop_order.legacy" in f.message
    assert "ACCESS EXCLUSIVE" in f.lock
    assert "SeparateDatabaseAndState" in f.recipe and "DROP COLUMN IF EXISTS legacy" in f.recipe


def test_remove_field_in_post_deploy_migration_is_allowed():
    findings = lint(
        [migrations.RemoveField("order", "legacy")], setup=[order_model()], deploy_phase="post"
    )
    assert "SO101" not in codes(findings)


def test_remove_field_of_table_created_in_same_migration_is_exempt():
    findings = lint([order_model(), migrations.RemoveField("order", "legacy")])
    assert "SO101" not in codes(findings)


def test_state_only_removal_is_safe():
    op = migrations.SeparateDatabaseAndState(
        state_operations=[migrations.RemoveField("order", "legacy")]
    )
    assert "SO101" not in codes(lint([op], setup=[order_model()]))


def test_runsql_drop_column_fires():
    findings = lint(
        [migrations.RunSQL("ALTER TABLE shop_order DROP COLUMN legacy")], setup=[order_model()]
    )
    assert codes(findings).count("SO101") == 1


def test_runsql_drop_column_of_new_table_is_exempt():
    findings = lint(
        [migrations.RunSQL("CREATE TABLE t (a int, b int); ALTER TABLE t DROP COLUMN b")]
    )
    assert "SO101" not in codes(findings)
