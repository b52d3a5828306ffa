from django.db import migrations, models
from lintkit import lint
from models import order_model
from remedykit import lint_remedy, remedy_migrations


class StatusField(models.CharField):
    """A custom field whose column is the enum type order_status."""

    def db_type(self, connection):
        return "order_status"


RENAME = "ALTER TYPE order_status RENAME VALUE 'sent' TO 'shipped'"


def so113(findings):
    return [f for f in findings if f.code == "SO113"]


def test_rename_value_fires_with_add_value_and_backfill_of_each_column():
    setup = [order_model(("status", StatusField(max_length=10, null=True)))]
    (f,) = so113(lint_remedy([migrations.RunSQL(RENAME)], setup=setup))
    assert f.severity.label == "error" and f.lock is None
    assert "RENAME VALUE 'sent' TO 'shipped'" in f.message and "'sent'" in f.message
    ((_name, add),) = remedy_migrations(f.recipe)
    (op,) = add.operations
    assert op.sql == ["ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'shipped' AFTER 'sent'"]
    assert (
        "schemaops backfill start shop.Order --set \"status = 'shipped'\" "
        "--where \"status = 'sent'\"" in f.recipe
    )


def test_rename_value_of_unknown_columns_gives_a_generic_update():
    (f,) = so113(lint_remedy([migrations.RunSQL(RENAME)], setup=[order_model()]))
    assert "UPDATE <table> SET <column> = 'shipped' WHERE <column> = 'sent'" in f.recipe


def test_add_value_and_enum_created_in_same_migration_are_not_flagged():
    add = migrations.RunSQL("ALTER TYPE order_status ADD VALUE 'lost'")
    assert not so113(lint([add], setup=[order_model()]))
    created = migrations.RunSQL(f"CREATE TYPE order_status AS ENUM ('sent'); {RENAME}")
    assert not so113(lint([created]))


def test_post_deploy_migration_is_flagged_too():
    # a rename is never one step: the deployed code writes the new label before it runs
    found = lint([migrations.RunSQL(RENAME)], setup=[order_model()], deploy_phase="post")
    assert so113(found)


def test_recipe_quotes_a_mixed_case_schema_qualified_type():
    from pglast import parse_sql

    rename = """ALTER TYPE "Sales"."OrderStatus" RENAME VALUE 'sent' TO 'shipped'"""
    (f,) = so113(lint_remedy([migrations.RunSQL(rename)], setup=[order_model()]))
    assert 'ALTER TYPE "Sales"."OrderStatus" RENAME VALUE' in f.message
    ((_name, add),) = remedy_migrations(f.recipe)
    (stmt,) = parse_sql(add.operations[0].sql[0])
    assert [n.sval for n in stmt.stmt.typeName] == ["Sales", "OrderStatus"]  # not case-folded
