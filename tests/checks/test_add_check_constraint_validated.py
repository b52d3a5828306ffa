from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint
from django.db import migrations, models
from lintkit import codes, lint
from models import order_model

CHECK = models.CheckConstraint(condition=models.Q(amount__gte=0), name="amount_gte_0")


def so205(findings):
    return [f for f in findings if f.code == "SO205"]


def test_add_check_constraint_fires_with_not_valid_recipe():
    findings = so205(lint([migrations.AddConstraint("order", CHECK)], setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert "amount_gte_0" in f.message and "shop_order" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert "schemaops fix shop 0002_change" in f.recipe
    from planned import planned

    recipe = planned([migrations.AddConstraint("order", CHECK)], [order_model()])
    assert "ADD CONSTRAINT amount_gte_0 CHECK (amount >= 0) NOT VALID" in recipe
    assert "VALIDATE CONSTRAINT amount_gte_0" in recipe


def test_not_valid_then_validate_is_safe():
    ops = [AddConstraintNotValid("order", CHECK), ValidateConstraint("order", "amount_gte_0")]
    assert "SO205" not in codes(lint(ops, setup=[order_model()]))


def test_check_on_new_table_is_exempt():
    assert "SO205" not in codes(lint([order_model(), migrations.AddConstraint("order", CHECK)]))


def test_runsql_check_fires_and_not_valid_does_not():
    sql = "ALTER TABLE shop_order ADD CONSTRAINT pos CHECK (amount > 0)"
    f = so205(lint([migrations.RunSQL(sql)], setup=[order_model()]))[0]
    assert "ALTER TABLE shop_order ADD CONSTRAINT pos CHECK (amount > 0) NOT VALID" in f.recipe
    assert "VALIDATE CONSTRAINT pos" in f.recipe
    assert "SO205" not in codes(lint([migrations.RunSQL(sql + " NOT VALID")], [order_model()]))


def test_positive_integer_field_adds_a_check_validated_under_lock():
    from planned import planned

    to_positive = migrations.AlterField("order", "amount", models.PositiveIntegerField(default=0))
    (f,) = [f for f in lint([to_positive], setup=[order_model()]) if f.code == "SO205"]
    assert "CHECK (amount >= 0)" in f.message and "ACCESS EXCLUSIVE" in f.lock
    recipe = planned([to_positive], [order_model()])
    assert "NOT VALID" in recipe and "VALIDATE CONSTRAINT shop_order_amount_" in recipe


def test_adding_a_positive_field_gets_its_sql_with_the_check_added_not_valid(scratch_db):
    """The planner has no AddField plan for the CHECK: the rule's recipe is Django's own
    SQL with the column's CHECK moved to a NOT VALID constraint, the field kept in the
    state, and the VALIDATE in the next migration; it runs on PostgreSQL."""
    from models import pg_connect, setup_sql

    added = migrations.AddField("order", "stock", models.PositiveSmallIntegerField(db_default=0))
    (f,) = so205(lint([added], setup=[order_model()]))
    assert "migrations.SeparateDatabaseAndState(" in f.recipe
    assert "field=models.PositiveSmallIntegerField(db_default=0)" in f.recipe
    expand, validate = _recipe_sql(f.recipe)
    assert expand == [
        "ALTER TABLE shop_order ADD COLUMN stock smallint DEFAULT 0 NOT NULL",
        "ALTER TABLE shop_order ADD CONSTRAINT shop_order_stock_check CHECK (stock >= 0) NOT VALID",
    ]
    conn = pg_connect(scratch_db)
    with conn.cursor() as cur:
        for statement in [*setup_sql([order_model()]), *expand, *validate]:
            cur.execute(statement)
        cur.execute(
            "SELECT convalidated FROM pg_constraint WHERE conname = 'shop_order_stock_check'"
        )
        assert cur.fetchone() == (True,)
    conn.close()


def test_positive_field_that_already_had_its_check_or_a_new_table_is_silent():
    kept = ("stock", models.PositiveIntegerField(default=0))
    bigger = migrations.AlterField("order", "stock", models.PositiveBigIntegerField(default=0))
    assert "SO205" not in codes(lint([bigger], setup=[order_model(kept)]))
    fresh = lint([order_model(("stock", models.PositiveIntegerField(default=0)))])
    assert "SO205" not in codes(fresh)


def _recipe_sql(recipe):
    """The SQL of each ``migrations.RunSQL(...)`` of a statement recipe, in order (inside a
    ``SeparateDatabaseAndState`` too), the timeout SETs left out."""
    blocks, current = [], None
    for line in recipe.splitlines():
        if line.lstrip().startswith("migrations.RunSQL(") and not line.rstrip().endswith("),"):
            current = [line.strip()]
        elif current is not None:
            current.append(line.strip())
            if line.strip() == "),":
                blocks.append(eval("".join(current)[:-1], {"migrations": migrations}))
                current = None
    return [list(op.sql) for op in blocks]


def test_runsql_add_column_with_a_check_fires_and_its_recipe_runs_on_postgresql(scratch_db):
    """ADD COLUMN ... CHECK reads every row under ACCESS EXCLUSIVE, even for a column that
    is all NULL (PostgreSQL 15: a full sequential scan); the recipe adds the column bare,
    the CHECK NOT VALID, and validates it in the next migration."""
    from models import pg_connect, setup_sql

    sql = "ALTER TABLE shop_order ADD COLUMN stars int NULL CONSTRAINT stars_pos CHECK (stars > 0)"
    (f,) = so205(lint([migrations.RunSQL(sql)], setup=[order_model()]))
    assert "ADD COLUMN stars with a CHECK" in f.message and "ACCESS EXCLUSIVE" in f.lock
    expand, validate = _recipe_sql(f.recipe)
    assert expand == [
        "ALTER TABLE shop_order ADD COLUMN stars integer NULL",
        "ALTER TABLE shop_order ADD CONSTRAINT stars_pos CHECK (stars > 0) NOT VALID",
    ]
    assert validate == ["ALTER TABLE shop_order VALIDATE CONSTRAINT stars_pos"]
    assert not so205(lint([migrations.RunSQL(expand)], setup=[order_model()]))
    conn = pg_connect(scratch_db)
    with conn.cursor() as cur:
        for statement in setup_sql([order_model()]):
            cur.execute(statement)
        cur.execute(
            "INSERT INTO shop_order (code, amount) SELECT 'c', g FROM generate_series(1, 50) g"
        )
        for statement in expand:
            cur.execute(statement)
        cur.execute("SELECT convalidated FROM pg_constraint WHERE conname = 'stars_pos'")
        assert cur.fetchone() == (False,)
        for statement in validate:
            cur.execute(statement)
        cur.execute("SELECT convalidated FROM pg_constraint WHERE conname = 'stars_pos'")
        assert cur.fetchone() == (True,)
    conn.close()


def test_runsql_add_column_without_a_check_or_on_a_new_table_is_silent():
    plain = migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN stars int NULL")
    assert not so205(lint([plain], setup=[order_model()]))
    fresh = migrations.RunSQL(
        "CREATE TABLE shop_star (id int); ALTER TABLE shop_star ADD COLUMN n int CHECK (n > 0)"
    )
    assert not so205(lint([fresh]))


class RatingField(models.PositiveSmallIntegerField):
    """A project's own field: Django keys the CHECK on get_internal_type(), so it has one."""


class CountField(models.IntegerField):
    """An IntegerField subclass: no CHECK."""


def test_a_subclass_of_a_positive_field_adds_the_check_too():
    added = migrations.AddField("order", "stars", RatingField(null=True))
    (f,) = so205(lint([added], setup=[order_model()]))
    assert "CHECK (stars >= 0)" in f.message
    assert not so205(
        lint([migrations.AddField("order", "n", CountField(null=True))], [order_model()])
    )
