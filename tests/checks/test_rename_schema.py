from django.db import migrations
from lintkit import lint
from models import order_model
from remedykit import lint_remedy


def so114(findings):
    return [f for f in findings if f.code == "SO114"]


def test_rename_schema_fires_with_create_move_drop_recipe():
    op = migrations.RunSQL("ALTER SCHEMA reporting RENAME TO analytics")
    (f,) = so114(lint_remedy([op], setup=[order_model()]))
    assert "ALTER SCHEMA reporting RENAME TO analytics" in f.message
    # no lock-free form to write: the planner's remedy is the way, step by step
    assert "CREATE SCHEMA analytics" in f.recipe
    assert "search_path lists analytics, reporting" in f.recipe
    assert "ALTER TABLE reporting.<table> SET SCHEMA analytics" in f.recipe
    assert "DROP SCHEMA reporting RESTRICT in a post-deploy migration" in f.recipe
    assert "class Migration" not in f.recipe  # advice: `schemaops fix` leaves it as it is


def test_other_renames_and_new_schemas_are_not_flagged():
    table = migrations.RunSQL("ALTER TABLE shop_order RENAME TO orders")
    assert not so114(lint([table], setup=[order_model()]))
    fresh = migrations.RunSQL("CREATE SCHEMA tmp; ALTER SCHEMA tmp RENAME TO scratch")
    assert not so114(lint([fresh]))


def test_search_path_keeps_mixed_case_schema_names():
    op = migrations.RunSQL('ALTER SCHEMA "Reporting" RENAME TO "Analytics"')
    (f,) = so114(lint_remedy([op], setup=[order_model()]))
    assert 'search_path lists "Analytics", "Reporting"' in f.recipe
