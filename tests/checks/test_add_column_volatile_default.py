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


def test_func_given_its_function_or_template_as_an_argument_is_judged_by_it():
    # Func(function=...) keeps the name in ``extra``, not in the ``function`` attribute
    volatile = [
        models.Func(function="gen_random_uuid"),
        models.Func(template="uuid_generate_v4()"),
        models.Func(function="my_own_function"),  # unknown: taken as volatile
    ]
    for expr in volatile:
        field = models.UUIDField(db_default=expr)
        found = so207(lint([migrations.AddField("order", "token", field)], [order_model()]))
        assert len(found) == 1 and found[0].severity.label == "error", expr
    stable = models.CharField(
        max_length=5, db_default=models.Func(models.Value("X"), function="lower")
    )
    assert not so207(lint([migrations.AddField("order", "low", stable)], [order_model()]))


def test_djangos_own_functions_are_not_volatile_but_a_projects_unknown_one_is(scratch_db):
    """Pi(), MD5(), ExtractYear(Now()) call immutable or stable PostgreSQL functions:
    ADD COLUMN keeps the table (checked below); a project's Func stays unknown."""
    from django.db.models import Func, Value
    from django.db.models.functions import MD5, ExtractYear, Pi
    from models import pg_connect, setup_sql

    for default in (Pi(), MD5(Value("a")), ExtractYear(Now())):
        field = models.FloatField(db_default=default)
        assert "SO207" not in codes(
            lint([migrations.AddField("order", "x", field)], [order_model()])
        )
    mine = models.FloatField(db_default=Func(function="shop_weight"))
    assert "SO207" in codes(lint([migrations.AddField("order", "x", mine)], [order_model()]))
    conn = pg_connect(scratch_db)
    with conn.cursor() as cur:
        for sql in setup_sql([order_model()]):
            cur.execute(sql)
        cur.execute("SELECT relfilenode FROM pg_class WHERE relname = 'shop_order'")
        before = cur.fetchone()
        cur.execute("ALTER TABLE shop_order ADD COLUMN x double precision DEFAULT pi() NOT NULL")
        cur.execute("SELECT relfilenode FROM pg_class WHERE relname = 'shop_order'")
        assert cur.fetchone() == before
    conn.close()
