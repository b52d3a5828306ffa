from django.db import migrations, models
from lintkit import codes, lint
from models import order_model

NOT_NULL = models.CharField(max_length=20)
CHECK = models.CheckConstraint(condition=models.Q(legacy__isnull=False), name="legacy_nn")


def make_not_null():
    return migrations.AlterField("order", "legacy", NOT_NULL)


def test_alter_field_to_not_null_fires_with_check_recipe():
    findings = lint([make_not_null()], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO109"]
    assert len(findings) == 1
    f = findings[0]
    assert "shop_order.legacy NOT NULL" in f.message
    assert (
        f.lock == 'ACCESS EXCLUSIVE on "shop_order" (blocks reads, writes and schema changes) '
        "for a full table scan"
    )
    assert "CHECK (legacy IS NOT NULL) NOT VALID" in f.recipe
    assert "VALIDATE CONSTRAINT shop_order_legacy_not_null" in f.recipe
    assert "SET NOT NULL; ALTER TABLE shop_order DROP CONSTRAINT" in f.recipe


def test_is_reported_in_post_deploy_migrations_too():
    assert "SO109" in codes(lint([make_not_null()], setup=[order_model()], deploy_phase="post"))


def test_validated_check_in_state_makes_it_safe_on_pg12_but_not_pg11():
    setup = [order_model(), migrations.AddConstraint("order", CHECK)]
    assert "SO109" not in codes(lint([make_not_null()], setup=setup))
    assert "SO109" in codes(lint([make_not_null()], setup=setup, pg_version=11))


def test_validated_check_earlier_in_same_migration_sql_makes_it_safe():
    sql = migrations.RunSQL(
        "ALTER TABLE shop_order ADD CONSTRAINT c CHECK (legacy IS NOT NULL) NOT VALID;"
        "ALTER TABLE shop_order VALIDATE CONSTRAINT c;"
        "ALTER TABLE shop_order ALTER COLUMN legacy SET NOT NULL"
    )
    assert "SO109" not in codes(lint([sql], setup=[order_model()], atomic=False))


def test_not_valid_check_alone_does_not_count():
    sql = migrations.RunSQL(
        "ALTER TABLE shop_order ADD CONSTRAINT c CHECK (legacy IS NOT NULL) NOT VALID;"
        "ALTER TABLE shop_order ALTER COLUMN legacy SET NOT NULL"
    )
    assert codes(lint([sql], setup=[order_model()])).count("SO109") == 1


def test_recipe_final_step_is_itself_clean():
    """Step c of the recipe: the CHECK is in the state, so SET NOT NULL is recognised as safe."""
    setup = [order_model(), migrations.AddConstraint("order", CHECK)]
    op = migrations.SeparateDatabaseAndState(
        state_operations=[make_not_null(), migrations.RemoveConstraint("order", "legacy_nn")],
        database_operations=[
            migrations.RunSQL(
                "ALTER TABLE shop_order ALTER COLUMN legacy SET NOT NULL;"
                "ALTER TABLE shop_order DROP CONSTRAINT legacy_nn"
            )
        ],
    )
    assert "SO109" not in codes(lint([op], setup=setup))


def test_already_not_null_and_new_table_are_exempt():
    op = migrations.AlterField("order", "code", models.CharField(max_length=30))
    assert "SO109" not in codes(lint([op], setup=[order_model()]))
    assert "SO109" not in codes(lint([order_model(), make_not_null()]))


def test_recipe_runs_on_postgresql_and_set_not_null_skips_the_scan(scratch_db):
    """Apply the recipe's SQL to a real table: PostgreSQL proves NOT NULL from the CHECK."""
    from models import pg_connect, recipe_migrations, recipe_sql, setup_sql

    f = next(f for f in lint([make_not_null()], setup=[order_model()]) if f.code == "SO109")
    add, validate, finish = recipe_migrations(f.recipe)
    assert add.deploy_phase == "post" and finish.dependencies == [
        ("shop", "XXXX_order_legacy_validate")
    ]
    conn = pg_connect(scratch_db)
    with conn.cursor() as cur:
        for sql in setup_sql([order_model()]):
            cur.execute(sql)
        cur.execute("INSERT INTO shop_order (code, legacy, amount) VALUES ('a', 'x', 1)")
        for sql in recipe_sql(add) + recipe_sql(validate):
            cur.execute(sql)
        cur.execute("SET client_min_messages = debug1")
        for sql in recipe_sql(finish):
            cur.execute(sql)
        cur.execute(
            "SELECT attnotnull FROM pg_attribute "
            "WHERE attrelid = 'shop_order'::regclass AND attname = 'legacy'"
        )
        assert cur.fetchone() == (True,)
        cur.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = 'shop_order'::regclass "
            "AND contype = 'c'"
        )
        assert cur.fetchone() == (0,)  # the helper CHECK is gone again
    notices = " ".join(conn.notices)
    conn.close()
    assert "sufficient to prove that it does not contain nulls" in notices


def test_recipe_below_pg12_keeps_the_check_as_the_guard():
    f = next(
        f
        for f in lint([make_not_null()], setup=[order_model()], pg_version=11)
        if f.code == "SO109"
    )
    assert "PostgreSQL < 12" in f.recipe
    assert "ALTER COLUMN legacy SET NOT NULL" not in f.recipe
    assert "RemoveConstraint" not in f.recipe


def test_recipe_chain_is_not_flagged_by_set_not_null_itself():
    from models import lint_recipe_chain

    f = next(f for f in lint([make_not_null()], setup=[order_model()]) if f.code == "SO109")
    chain = lint_recipe_chain(f.recipe, [order_model()])
    assert "SO109" not in codes(chain)


def test_runsql_recipe_quotes_the_names_it_was_given():
    sql = migrations.RunSQL('ALTER TABLE "Shop Order" ALTER COLUMN "Legacy" SET NOT NULL')
    (f,) = [f for f in lint([sql]) if f.code == "SO109"]
    assert 'ALTER TABLE "Shop Order" ADD CONSTRAINT "Shop Order_Legacy_not_null"' in f.recipe
    assert 'CHECK ("Legacy" IS NOT NULL) NOT VALID' in f.recipe
