from django.db import migrations
from lintkit import codes, lint
from models import customer_model, order_model


def test_truncate_of_existing_table_fires_with_batched_delete():
    sql = migrations.RunSQL("TRUNCATE shop_order", migrations.RunSQL.noop)
    findings = [f for f in lint([sql], setup=[order_model()]) if f.code == "SO306"]
    assert len(findings) == 1
    f = findings[0]
    assert "TRUNCATE empties shop_order" in f.message and "CASCADE" not in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert "atomic = False" in f.recipe and "LIMIT 1000" in f.recipe


def test_truncate_cascade_is_called_out():
    sql = migrations.RunSQL("TRUNCATE shop_order, shop_customer CASCADE", "")
    f = next(f for f in lint([sql], setup=[order_model(), customer_model()]) if f.code == "SO306")
    assert "shop_order, shop_customer and, with CASCADE" in f.message
    assert f.lock.count("ACCESS EXCLUSIVE") == 2


def test_truncate_of_table_created_in_same_migration_is_exempt():
    sql = migrations.RunSQL("CREATE TABLE scratch (a int); TRUNCATE scratch", "")
    assert "SO306" not in codes(lint([sql]))


def test_batched_delete_recipe_empties_the_table_on_postgresql(scratch_db):
    """The recipe's migration module runs as is: its function deletes 1000 rows per statement."""
    from types import SimpleNamespace

    from models import pg_connect, recipe_migrations, setup_sql

    sql = migrations.RunSQL("TRUNCATE shop_order", migrations.RunSQL.noop)
    f = next(f for f in lint([sql], setup=[order_model()]) if f.code == "SO306")
    (migration,) = recipe_migrations(f.recipe)
    assert migration.atomic is False
    conn = pg_connect(scratch_db)
    with conn.cursor() as cur:
        for stmt in setup_sql([order_model()]):
            cur.execute(stmt)
        cur.execute(
            "INSERT INTO shop_order (code, amount) SELECT 'c', g FROM generate_series(1, 2500) g"
        )
    run_python = migration.operations[0]
    run_python.code(None, SimpleNamespace(connection=conn))
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM shop_order")
        assert cur.fetchone() == (0,)
    conn.close()
