from django.db import migrations
from lintkit import lint
from models import lint_recipe_chain, order_model, recipe_migrations


def so114(findings):
    return [f for f in findings if f.code == "SO114"]


def test_rename_schema_fires_with_create_move_drop_recipe():
    op = migrations.RunSQL("ALTER SCHEMA reporting RENAME TO analytics")
    (f,) = so114(lint([op], setup=[order_model()]))
    assert "ALTER SCHEMA reporting RENAME TO analytics" in f.message
    create, drop = recipe_migrations(f.recipe)
    assert create.operations[0].sql == "CREATE SCHEMA IF NOT EXISTS analytics"
    assert drop.deploy_phase == "post"
    assert drop.operations[0].sql == "DROP SCHEMA reporting RESTRICT"
    assert "search_path=analytics,reporting,public" in f.recipe
    assert "ALTER TABLE reporting.<table> SET SCHEMA analytics" in f.recipe
    assert "SO114" not in {x.code for x in lint_recipe_chain(f.recipe, [order_model()])}


def test_other_renames_and_new_schemas_are_not_flagged():
    table = migrations.RunSQL("ALTER TABLE shop_order RENAME TO orders")
    assert not so114(lint([table], setup=[order_model()]))
    fresh = migrations.RunSQL("CREATE SCHEMA tmp; ALTER SCHEMA tmp RENAME TO scratch")
    assert not so114(lint([fresh]))


def test_search_path_keeps_mixed_case_schema_names():
    op = migrations.RunSQL('ALTER SCHEMA "Reporting" RENAME TO "Analytics"')
    (f,) = so114(lint([op], setup=[order_model()]))
    assert 'search_path="Analytics","Reporting",public' in f.recipe
