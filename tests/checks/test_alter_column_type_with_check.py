from django.db import migrations, models
from django.db.migrations.state import ProjectState
from lintkit import codes, lint
from models import order_model

from schemaops.remedy.planner import plan_operation

LABEL = ("label", models.CharField(max_length=10, null=True))
NOT_BLANK = migrations.AddConstraint(
    "order", models.CheckConstraint(condition=~models.Q(label=""), name="label_not_blank")
)
WIDEN = migrations.AlterField("order", "label", models.CharField(max_length=30, null=True))


def so219(findings):
    return [f for f in findings if f.code == "SO219"]


def test_binary_coercible_alter_field_on_checked_column_fires_and_the_planner_rechecks():
    (f,) = so219(lint([WIDEN], setup=[order_model(LABEL), NOT_BLANK]))
    assert "shop_order.label from varchar(10) to varchar(30) without a rewrite" in f.message
    assert "label_not_blank" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert "DROP CONSTRAINT label_not_blank" in f.recipe and "NOT VALID" in f.recipe
    state = ProjectState()
    for op in (order_model(LABEL), NOT_BLANK):
        op.state_forwards("shop", state)
    remedy = plan_operation(WIDEN, "shop", state)
    assert remedy is not None and remedy.kind == "recheck-not-valid"
    first = remedy.steps[0].operations
    assert [type(op).__name__ for op in first] == ["RemoveConstraint", "AlterField"]
    assert "NOT VALID" in str(remedy.steps[1].operations)
    assert "VALIDATE CONSTRAINT label_not_blank" in str(remedy.steps[2].operations)


def test_runsql_type_change_on_checked_column_fires():
    sql = migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN label TYPE text")
    (f,) = so219(lint([sql], setup=[order_model(LABEL), NOT_BLANK]))
    assert "ALTER COLUMN label TYPE text on shop_order (from varchar(10))" in f.message
    assert "ALTER TABLE shop_order ALTER COLUMN label TYPE text;" in f.recipe
    assert f.recipe.index("DROP CONSTRAINT label_not_blank") < f.recipe.index("TYPE text")


def test_builtin_positive_check_is_dropped_and_re_added_in_sql():
    setup = [order_model(("qty", models.PositiveIntegerField(null=True)))]
    sql = migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN qty TYPE integer")
    (f,) = so219(lint([sql], setup=setup))
    assert "shop_order_qty_" in f.message and f.message.count("_check") == 1
    assert "CHECK (qty >= 0) NOT VALID" in f.recipe and "VALIDATE CONSTRAINT" in f.recipe


def test_unchecked_column_rewrite_new_table_and_dropped_check_are_not_flagged():
    # no check on the column
    assert not so219(lint([WIDEN], setup=[order_model(LABEL)]))
    # a check on another column only
    other = migrations.AddConstraint(
        "order", models.CheckConstraint(condition=models.Q(amount__gte=0), name="amount_pos")
    )
    assert not so219(lint([WIDEN], setup=[order_model(LABEL), other]))
    # a rewrite is SO206's finding
    shrink = migrations.AlterField("order", "label", models.CharField(max_length=5, null=True))
    found = lint([shrink], setup=[order_model(LABEL), NOT_BLANK])
    assert "SO206" in codes(found) and not so219(found)
    # the table is created in the same migration
    assert not so219(lint([order_model(LABEL), NOT_BLANK, WIDEN]))
    # the check was dropped first, in the same RunSQL
    sql = migrations.RunSQL(
        "ALTER TABLE shop_order DROP CONSTRAINT label_not_blank;"
        "ALTER TABLE shop_order ALTER COLUMN label TYPE text"
    )
    assert not so219(lint([sql], setup=[order_model(LABEL), NOT_BLANK]))


def _positive(**kw):
    return models.PositiveIntegerField(null=True, **kw)


def test_a_comment_on_a_positive_field_re_validates_its_check(scratch_db):
    """Django re-applies the column's type for a new db_comment (ALTER COLUMN x TYPE
    integer): PostgreSQL checks every row against the CHECK again (measured below). The
    recipe drops the CHECK under either name it may have, runs Django's SQL, adds it
    back NOT VALID and validates it in the next migration."""
    from models import pg_connect, setup_sql
    from test_add_check_constraint_validated import _recipe_sql

    setup = [order_model(("stock", _positive()))]
    commented = migrations.AlterField("order", "stock", _positive(db_comment="units"))
    (f,) = [f for f in lint([commented], setup=setup) if f.code == "SO219"]
    assert "changes the db_comment of shop_order.stock" in f.message
    alter, validate = _recipe_sql(f.recipe)
    assert "migrations.SeparateDatabaseAndState(" in f.recipe
    conn = pg_connect(scratch_db)
    with conn.cursor() as cur:
        for sql in setup_sql(setup):
            cur.execute(sql)
        cur.execute("INSERT INTO shop_order (code, amount, stock) VALUES ('a', 1, 2)")
        cur.execute("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'shop_order'")
        (before,) = cur.fetchone()
        cur.execute('ALTER TABLE "shop_order" ALTER COLUMN "stock" TYPE integer')
        cur.execute("SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'shop_order'")
        assert cur.fetchone()[0] > before  # the CHECK was validated again: a full read
        for sql in [*alter, *validate]:
            cur.execute(sql)
        cur.execute(
            "SELECT conname, convalidated FROM pg_constraint WHERE contype = 'c' "
            "AND conrelid = 'shop_order'::regclass"
        )
        assert cur.fetchall() == [(validate[0].split()[-1], True)]
    conn.close()


def test_a_comment_on_a_field_without_a_check_is_silent():
    setup = [order_model(("n", models.IntegerField(null=True)))]
    commented = migrations.AlterField("order", "n", models.IntegerField(null=True, db_comment="n"))
    assert "SO219" not in codes(lint([commented], setup=setup))
