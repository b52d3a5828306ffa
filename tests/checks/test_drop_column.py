from django.db import migrations, models
from lintkit import codes, lint
from models import customer_model, order_model


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


def test_unsetting_order_with_respect_to_drops_the_order_column():
    fk = ("customer", models.ForeignKey("shop.Customer", on_delete=models.CASCADE))
    setup = [customer_model(), order_model(fk, options={"order_with_respect_to": "customer"})]
    op = migrations.AlterOrderWithRespectTo("order", None)
    (f,) = [f for f in lint([op], setup=setup) if f.code == "SO101"]
    assert f.message.startswith("AlterOrderWithRespectTo Order (None) drops shop_order._order")
    assert "ALTER COLUMN _order DROP NOT NULL" in f.recipe
    assert "DROP COLUMN IF EXISTS _order" in f.recipe
    assert 'state_operations=[migrations.AlterOrderWithRespectTo("order", None)]' in f.recipe
    # setting it is not a drop
    setting = migrations.AlterOrderWithRespectTo("order", "customer")
    plain = [customer_model(), order_model(fk)]
    assert "SO101" not in codes(lint([setting], setup=plain))
