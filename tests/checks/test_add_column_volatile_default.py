from django.db import migrations, models
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now, Random
from lintkit import codes, lint
from models import order_model


def so207(findings):
    return [f for f in findings if f.code == "SO207"]


def test_random_db_default_fires_with_backfill_recipe():
    op = migrations.AddField("order", "score", models.FloatField(db_default=Random()))
    findings = so207(lint([op], setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert "Order.score" in f.message and "volatile" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert f.recipe is None  # the planner's remedy
    from django.db.migrations.state import ProjectState
    from django.db.migrations.writer import MigrationWriter

    from schemaops.remedy.planner import plan_operation

    state = ProjectState()
    order_model().state_forwards("shop", state)
    remedy = plan_operation(op, "shop", state)
    pre = "\n".join(MigrationWriter.serialize(o)[0] for s in remedy.pre for o in s.operations)
    assert "ADD COLUMN score double precision NULL" in pre.replace('"', "")
    assert "SET DEFAULT (RANDOM())" in pre.replace('"', "")  # no rewrite: new rows only
    assert 'start shop.Order --set "score = random()" --where "score IS NULL"' in remedy.backfill


def test_raw_gen_random_uuid_fires_and_now_does_not():
    uuid = models.UUIDField(db_default=RawSQL("gen_random_uuid()", []))
    assert len(so207(lint([migrations.AddField("order", "t", uuid)], [order_model()]))) == 1
    now = models.DateTimeField(db_default=Now())
    assert "SO207" not in codes(lint([migrations.AddField("order", "at", now)], [order_model()]))


def test_constant_default_rewrites_only_before_pg11():
    op = migrations.AddField("order", "n", models.IntegerField(default=3))
    assert "SO207" not in codes(lint([op], setup=[order_model()], pg_version=15))
    old = so207(lint([op], setup=[order_model()], pg_version=10))
    assert len(old) == 1 and "PostgreSQL 10" in old[0].message


def test_new_table_is_exempt():
    op = migrations.AddField("order", "score", models.FloatField(db_default=Random()))
    assert "SO207" not in codes(lint([order_model(), op]))


def test_runsql_volatile_default_fires_and_constant_does_not():
    bad = "ALTER TABLE shop_order ADD COLUMN t uuid DEFAULT gen_random_uuid()"
    assert len(so207(lint([migrations.RunSQL(bad)], [order_model()]))) == 1
    good = "ALTER TABLE shop_order ADD COLUMN n int DEFAULT 0"
    assert "SO207" not in codes(lint([migrations.RunSQL(good)], [order_model()]))
    assert len(so207(lint([migrations.RunSQL(good)], [order_model()], pg_version=10))) == 1


def test_unknown_function_is_taken_as_volatile():
    sql = "ALTER TABLE shop_order ADD COLUMN n int DEFAULT my_func()"
    f = so207(lint([migrations.RunSQL(sql)], [order_model()]))[0]
    assert f.severity.label == "error" and "taken as volatile" in f.message


def test_template_only_func_is_judged_by_its_sql():
    from django.contrib.postgres.functions import RandomUUID
    from django.db.models.functions import Now

    uuid = models.UUIDField(db_default=RandomUUID())
    (f,) = so207(lint([migrations.AddField("order", "token", uuid)], [order_model()]))
    assert "volatile" in f.message and f.severity.label == "error"
    now = models.DateTimeField(db_default=Now())
    assert not so207(lint([migrations.AddField("order", "at", now)], [order_model()]))
