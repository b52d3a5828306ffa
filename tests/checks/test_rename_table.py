from django.db import migrations
from lintkit import codes, lint
from models import order_model

from schemaops.checks._set_additive import RULES

OUR_CODES = {rule.code for rule in RULES}


def test_rename_model_fires_with_db_table_recipe():
    findings = lint([migrations.RenameModel("Order", "Purchase")], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO104"]
    assert len(findings) == 1
    f = findings[0]
    assert "shop_order to shop_purchase" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert "db_table = 'shop_order'" in f.recipe
    assert "create a view shop_order over shop_purchase" in f.recipe  # the other way, as prose


def test_rename_model_with_pinned_db_table_is_safe():
    setup = [order_model(options={"db_table": "orders"})]
    assert "SO104" not in codes(lint([migrations.RenameModel("Order", "Purchase")], setup=setup))


def test_db_table_recipe_is_itself_clean():
    ops = [
        migrations.AlterModelTable("Order", "shop_order"),
        migrations.RenameModel("Order", "Purchase"),
    ]
    assert not set(codes(lint(ops, setup=[order_model()]))) & OUR_CODES


def test_alter_model_table_fires():
    findings = lint([migrations.AlterModelTable("Order", "orders")], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO104"]
    assert len(findings) == 1
    assert "AlterModelTable on Order" in findings[0].message


def test_rename_model_in_post_deploy_migration_is_still_an_error():
    # the new code, deployed first, queries the new name before the migration runs
    findings = lint(
        [migrations.RenameModel("Order", "Purchase")], setup=[order_model()], deploy_phase="post"
    )
    assert "SO104" in codes(findings)


def test_runsql_rename_table_fires_but_not_for_a_new_table():
    bad = lint(
        [migrations.RunSQL("ALTER TABLE shop_order RENAME TO orders")], setup=[order_model()]
    )
    assert codes(bad).count("SO104") == 1
    new = lint([migrations.RunSQL("CREATE TABLE t (a int); ALTER TABLE t RENAME TO u")])
    assert "SO104" not in codes(new)


def test_runsql_rename_of_a_view_fires_as_the_old_code_queries_it_by_name():
    setup = [
        order_model(),
        migrations.RunSQL("CREATE VIEW shop_order_v AS SELECT id FROM shop_order"),
        migrations.RunSQL("CREATE MATERIALIZED VIEW shop_order_mv AS SELECT id FROM shop_order"),
    ]
    for sql, what in (
        ("ALTER VIEW shop_order_v RENAME TO order_v", "view shop_order_v"),
        ("ALTER MATERIALIZED VIEW shop_order_mv RENAME TO order_mv", "materialized view"),
    ):
        (f,) = [f for f in lint([migrations.RunSQL(sql)], setup=setup) if f.code == "SO104"]
        assert f.severity.label == "error" and f"renames {what}" in f.message
        assert "db_table" not in f.recipe and "post-deploy" in f.recipe
    index = lint([migrations.RunSQL("ALTER INDEX shop_order_pkey RENAME TO o_pk")], setup=setup)
    assert "SO104" not in codes(index)
