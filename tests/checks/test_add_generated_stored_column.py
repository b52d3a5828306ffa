import pytest
from django.db import migrations, models
from django.db.models import F
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy

from schemaops.locks import Lock


def generated():
    return models.GeneratedField(
        expression=F("amount") * 100, output_field=models.BigIntegerField(), db_persist=True
    )


def so208(findings):
    return [f for f in findings if f.code == "SO208"]


def test_stored_generated_field_fires_with_trigger_recipe():
    op = migrations.AddField("order", "cents", generated())
    findings = so208(lint_remedy([op], setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert "Order.cents" in f.message and "shop_order" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    # the planner's advice, from the statement Django emits (no lock-free rewrite of it)
    assert "plain nullable column filled by a BEFORE INSERT OR UPDATE trigger" in f.recipe
    assert "NEW.cents := amount * 100" in f.recipe
    assert 'schemaops backfill start shop.Order --set "cents = amount * 100"' in f.recipe


def test_plain_column_and_new_table_are_safe():
    plain = migrations.AddField("order", "cents", models.BigIntegerField(null=True))
    assert "SO208" not in codes(lint([plain], setup=[order_model()]))
    assert "SO208" not in codes(
        lint([order_model(), migrations.AddField("order", "c", generated())])
    )


def test_runsql_stored_generated_column_fires():
    sql = "ALTER TABLE shop_order ADD COLUMN c bigint GENERATED ALWAYS AS (amount * 100) STORED"
    assert len(so208(lint([migrations.RunSQL(sql)], [order_model()]))) == 1
    plain = "ALTER TABLE shop_order ADD COLUMN c bigint"
    assert "SO208" not in codes(lint([migrations.RunSQL(plain)], [order_model()]))


def _virtual():
    return models.GeneratedField(
        expression=models.F("amount") * 2, output_field=models.IntegerField(), db_persist=False
    )


def test_a_virtual_generated_field_fails_before_postgresql_18(scratch_db):
    """Django writes ... VIRTUAL for db_persist=False; PostgreSQL 15 rejects it."""
    import psycopg2
    from models import pg_connect, setup_sql

    added = migrations.AddField("order", "double", _virtual())
    (f,) = [f for f in lint([added], setup=[order_model()]) if f.code == "SO208"]
    assert "db_persist=False" in f.message and "PostgreSQL 15 rejects" in f.message
    created = order_model(("double", _virtual()))
    assert "SO208" in codes(lint([created]))
    assert "SO208" not in codes(lint([added], setup=[order_model()], pg_version=18))
    conn = pg_connect(scratch_db)
    with conn.cursor() as cur:
        for sql in setup_sql([order_model()]):
            cur.execute(sql)
        with pytest.raises(psycopg2.errors.SyntaxError):
            cur.execute(
                'ALTER TABLE "shop_order" ADD COLUMN "double" integer '
                'GENERATED ALWAYS AS (("amount" * 2)) VIRTUAL'
            )
    conn.close()


def test_runsql_virtual_column_fails_before_18_and_rewrites_nothing_after():
    from schemaops.checks._lockmap import statement_locks
    from schemaops.statements import parse

    sql = "ALTER TABLE shop_order ADD COLUMN d int GENERATED ALWAYS AS (amount * 2) VIRTUAL"
    (f,) = [f for f in lint([migrations.RunSQL(sql)], [order_model()]) if f.code == "SO208"]
    assert "VIRTUAL" in f.message and "rejects it" in f.message
    assert "SO208" not in codes(lint([migrations.RunSQL(sql)], [order_model()], pg_version=18))
    assert statement_locks(parse(sql)[0].node) == [("shop_order", Lock.ACCESS_EXCLUSIVE, False)]
    stored = sql.replace("VIRTUAL", "STORED")
    assert "SO208" in codes(lint([migrations.RunSQL(stored)], [order_model()], pg_version=18))
