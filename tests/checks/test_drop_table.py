from django.db import migrations, models
from lintkit import codes, lint
from models import coupon_model, customer_model, order_model

SETUP = [order_model(), customer_model(), coupon_model()]


def test_delete_model_fires_with_parent_lock_and_two_step_recipe():
    findings = lint([migrations.DeleteModel("Coupon")], setup=SETUP)
    findings = [f for f in findings if f.code == "SO102"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "error"
    assert "shop_coupon (Coupon)" in f.message and "shop_coupon_customers" in f.message
    assert 'ACCESS EXCLUSIVE on "shop_coupon"' in f.lock
    assert 'ACCESS EXCLUSIVE on "shop_order"' in f.lock  # the FK's parent table
    assert 'state_operations=[migrations.DeleteModel("Coupon")]' in f.recipe
    assert "DROP CONSTRAINT IF EXISTS shop_coupon_order_id_" in f.recipe
    assert "DROP TABLE IF EXISTS shop_coupon_customers" in f.recipe
    assert 'deploy_phase = "post"' in f.recipe


def test_delete_model_in_post_deploy_migration_is_allowed():
    findings = lint([migrations.DeleteModel("Coupon")], setup=SETUP, deploy_phase="post")
    assert "SO102" not in codes(findings)


def test_delete_model_created_in_same_migration_is_exempt():
    findings = lint([order_model(), migrations.DeleteModel("Order")])
    assert "SO102" not in codes(findings)


def test_state_only_delete_model_is_not_a_drop():
    op = migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel("Coupon")])
    assert "SO102" not in codes(lint([op], setup=SETUP))


def test_runsql_drop_table_fires_and_names_the_referenced_table():
    findings = lint([migrations.RunSQL("DROP TABLE shop_coupon")], setup=SETUP)
    assert codes(findings).count("SO102") == 1
    f = next(f for f in findings if f.code == "SO102")
    assert "shop_coupon" in f.message and '"shop_order"' in f.lock


def test_runsql_drop_of_table_created_in_same_migration_is_exempt():
    findings = lint([migrations.RunSQL("CREATE TABLE scratch (a int); DROP TABLE scratch")])
    assert "SO102" not in codes(findings)


def test_runsql_drop_index_is_not_a_table_drop():
    findings = lint([migrations.RunSQL("DROP INDEX CONCURRENTLY IF EXISTS x")], atomic=False)
    assert "SO102" not in codes(findings)


def test_recipe_drops_the_real_foreign_key_then_the_tables_on_postgresql(scratch_db):
    """The constraint name the recipe computes offline is the one Django really created."""
    from models import pg_connect, recipe_migrations, recipe_sql, setup_sql

    f = next(f for f in lint([migrations.DeleteModel("Coupon")], setup=SETUP) if f.code == "SO102")
    state_only, post = recipe_migrations(f.recipe)
    assert recipe_sql(state_only) == [] and post.deploy_phase == "post"
    statements = recipe_sql(post)
    conn = pg_connect(scratch_db)
    with conn.cursor() as cur:
        for sql in setup_sql(SETUP):
            cur.execute(sql)
        fk_drops = [s for s in statements if "DROP CONSTRAINT" in s]
        assert fk_drops
        for sql in fk_drops:
            cur.execute(sql)
        cur.execute(
            "SELECT count(*) FROM pg_constraint "
            "WHERE conrelid = 'shop_coupon'::regclass AND contype = 'f'"
        )
        assert cur.fetchone() == (0,)
        for sql in statements:
            if not sql.upper().startswith("SET LOCAL"):
                cur.execute(sql)
        cur.execute("SELECT to_regclass('shop_coupon'), to_regclass('shop_coupon_customers')")
        assert cur.fetchone() == (None, None)
    conn.close()


def test_removing_a_many_to_many_field_drops_its_join_table():
    from models import recipe_migrations, recipe_sql

    op = migrations.RemoveField("coupon", "customers")
    (f,) = [f for f in lint([op], setup=SETUP) if f.code == "SO102"]
    assert "drops the many-to-many table shop_coupon_customers (DROP TABLE)" in f.message
    assert 'ACCESS EXCLUSIVE on "shop_coupon_customers"' in f.lock
    assert 'ACCESS EXCLUSIVE on "shop_customer"' in f.lock
    pre, post = recipe_migrations(f.recipe)
    assert isinstance(pre.operations[0], migrations.SeparateDatabaseAndState)
    assert post.deploy_phase == "post"
    assert recipe_sql(post) == [
        "SET LOCAL lock_timeout = '5s'",
        "DROP TABLE IF EXISTS shop_coupon_customers",
    ]


def test_removing_a_many_to_many_field_post_deploy_or_with_a_through_model_is_silent():
    op = migrations.RemoveField("coupon", "customers")
    assert "SO102" not in codes(lint([op], setup=SETUP, deploy_phase="post"))
    from django.db import models

    through = migrations.CreateModel(
        "Holder",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("orders", models.ManyToManyField("shop.Order", through="shop.Link")),
        ],
    )
    link = migrations.CreateModel(
        "Link",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("holder", models.ForeignKey("shop.Holder", models.CASCADE)),
            ("order", models.ForeignKey("shop.Order", models.CASCADE)),
        ],
    )
    remove = migrations.RemoveField("holder", "orders")
    assert "SO102" not in codes(lint([remove], setup=[order_model(), through, link]))


def test_post_deploy_database_only_drop_of_a_table_the_models_still_have_fires():
    drop = migrations.RunSQL("DROP TABLE shop_coupon", migrations.RunSQL.noop)
    (f,) = [f for f in lint([drop], setup=SETUP, deploy_phase="post") if f.code == "SO102"]
    assert "while the models still have it (Coupon)" in f.message
    join = migrations.RunSQL("DROP TABLE shop_coupon_customers", migrations.RunSQL.noop)
    (f,) = [f for f in lint([join], setup=SETUP, deploy_phase="post") if f.code == "SO102"]
    assert "the many-to-many shop_coupon.customers" in f.message
    db_only = migrations.SeparateDatabaseAndState(
        database_operations=[migrations.DeleteModel("Coupon")]
    )
    assert "SO102" in codes(lint([db_only], setup=SETUP, deploy_phase="post"))


def test_post_deploy_drop_of_a_table_gone_from_the_models_is_allowed():
    gone = migrations.SeparateDatabaseAndState(
        state_operations=[migrations.DeleteModel("Coupon")],
        database_operations=[migrations.RunSQL("DROP TABLE shop_coupon_customers, shop_coupon")],
    )
    assert "SO102" not in codes(lint([gone], setup=SETUP, deploy_phase="post"))


# -- views: DROP VIEW / DROP MATERIALIZED VIEW --------------------------------------

VIEW = migrations.RunSQL("CREATE VIEW shop_order_v AS SELECT id, code FROM shop_order")
MATVIEW = migrations.RunSQL("CREATE MATERIALIZED VIEW shop_order_mv AS SELECT id FROM shop_order")
VIEW_MODEL = migrations.CreateModel(
    "OrderView",
    [("id", models.BigIntegerField(primary_key=True))],
    options={"managed": False, "db_table": "shop_order_v"},
)


def _drops(findings):
    return [f for f in findings if f.code == "SO102"]


def test_dropping_a_view_a_model_reads_before_the_deploy_is_an_error():
    findings = lint([migrations.RunSQL("DROP VIEW shop_order_v")], setup=[*SETUP, VIEW, VIEW_MODEL])
    (f,) = _drops(findings)
    assert f.severity.label == "error" and "(OrderView)" in f.message
    assert 'deploy_phase = "post"' in f.recipe


def test_dropping_a_view_no_model_reads_before_the_deploy_is_a_warning():
    for view, setup in (("VIEW shop_order_v", VIEW), ("MATERIALIZED VIEW shop_order_mv", MATVIEW)):
        findings = lint([migrations.RunSQL(f"DROP {view}")], setup=[*SETUP, setup])
        (f,) = _drops(findings)
        assert f.severity.label == "warning" and f"DROP {view}" in f.message


def test_dropping_and_creating_a_view_again_in_one_migration_is_no_drop():
    again = "CREATE VIEW shop_order_v AS SELECT id, code, legacy FROM shop_order"
    for ops in (
        [migrations.RunSQL(f"DROP VIEW shop_order_v; {again}")],
        [migrations.RunSQL("DROP VIEW shop_order_v"), migrations.RunSQL(again)],
        [migrations.RunSQL("CREATE VIEW tmp_v AS SELECT 1"), migrations.RunSQL("DROP VIEW tmp_v")],
    ):
        assert not _drops(lint(ops, setup=[*SETUP, VIEW, VIEW_MODEL]))


def test_post_deploy_drop_of_a_view_fires_only_while_a_model_reads_it():
    drop = [migrations.RunSQL("DROP VIEW shop_order_v")]
    (f,) = _drops(lint(drop, setup=[*SETUP, VIEW, VIEW_MODEL], deploy_phase="post"))
    assert f.severity.label == "error" and "models still read it" in f.message
    assert not _drops(lint(drop, setup=[*SETUP, VIEW], deploy_phase="post"))
    gone = [migrations.DeleteModel("OrderView"), *drop]
    assert not _drops(lint(gone, setup=[*SETUP, VIEW, VIEW_MODEL], deploy_phase="post"))
