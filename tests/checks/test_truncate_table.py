from django.db import migrations
from lintkit import codes, lint
from models import customer_model, order_model


def test_truncate_of_existing_table_fires_with_batched_delete_advice():
    sql = migrations.RunSQL("TRUNCATE shop_order", migrations.RunSQL.noop)
    findings = [f for f in lint([sql], setup=[order_model()]) if f.code == "SO306"]
    assert len(findings) == 1
    f = findings[0]
    assert "TRUNCATE empties shop_order" in f.message and "CASCADE" not in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert f.recipe.startswith("Remove the TRUNCATE from the migration")
    assert "rows of shop_order must go" in f.recipe and "LIMIT 1000" in f.recipe
    assert "class Migration" not in f.recipe  # words: no second code writer
    assert "CASCADE" not in f.recipe


def test_truncate_cascade_is_called_out():
    sql = migrations.RunSQL("TRUNCATE shop_order, shop_customer CASCADE", "")
    f = next(f for f in lint([sql], setup=[order_model(), customer_model()]) if f.code == "SO306")
    assert "shop_order, shop_customer and, with CASCADE" in f.message
    assert f.lock.count("ACCESS EXCLUSIVE") == 2
    assert "shop_order, shop_customer must go" in f.recipe
    assert "Name every table you mean instead of CASCADE" in f.recipe


def test_truncate_of_table_created_in_same_migration_is_exempt():
    sql = migrations.RunSQL("CREATE TABLE scratch (a int); TRUNCATE scratch", "")
    assert "SO306" not in codes(lint([sql]))
