from django.db import migrations, models
from lintkit import APP, QUIET, FakeLoader, codes, lint, make_migration
from models import customer_model, order_model

from schemaops.linter import Linter

SETUP = [order_model(), customer_model()]


def fk(**kwargs):
    return models.ForeignKey("shop.customer", models.CASCADE, null=True, **kwargs)


ADD_UNINDEXED = migrations.AddField("order", "customer", fk(db_index=False))


def lint_three(setup, checked, later):
    """0001 setup, 0002 under check, 0003 applied after it but not selected."""
    chain = [
        make_migration("0001_initial", setup),
        make_migration("0002_change", checked, dependencies=[(APP, "0001_initial")]),
        make_migration("0003_later", later, dependencies=[(APP, "0002_change")]),
    ]
    result = Linter(FakeLoader(chain), QUIET).run({(APP, "0002_change")})
    return [f for f in result.findings if not f.suppressed]


def test_foreign_key_with_db_index_false_fires_with_concurrent_index_recipe():
    [f] = [f for f in lint([ADD_UNINDEXED], setup=SETUP) if f.code == "SO501"]
    assert f.severity.label == "warning"
    assert f.operation == 0
    assert "ForeignKey Order.customer (shop_order.customer_id -> shop_customer)" in f.message
    assert "every DELETE on shop_customer scans shop_order" in f.message
    index = "models.Index(fields=['customer'], name='order_customer_idx')"
    assert f"index={index}" in f.recipe  # the state: AddIndex
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_customer_idx ON shop_order" in f.recipe
    assert "atomic = False" in f.recipe
    assert "('shop', '0002_change')," in f.recipe  # after the app's latest migration
    assert f"# models.py: add {index} to class Order's Meta.indexes" in f.recipe


def test_default_foreign_key_is_indexed_by_django():
    op = migrations.AddField("order", "customer", fk())
    assert "SO501" not in codes(lint([op], setup=SETUP))


def test_index_added_by_a_later_migration_counts():
    later = [migrations.AddIndex("order", models.Index(fields=["customer", "code"], name="oc_idx"))]
    assert "SO501" not in codes(lint_three(SETUP, [ADD_UNINDEXED], later))
    raw = [migrations.RunSQL("CREATE INDEX CONCURRENTLY oc ON shop_order (customer_id)")]
    assert "SO501" not in codes(lint_three(SETUP, [ADD_UNINDEXED], raw))


def test_unique_constraint_leading_with_the_column_covers_it():
    unique = models.UniqueConstraint(fields=["customer", "code"], name="one_code_per_customer")
    ops = [ADD_UNINDEXED, migrations.AddConstraint("order", unique)]
    assert "SO501" not in codes(lint(ops, setup=SETUP))


def test_column_second_in_an_index_or_partial_index_does_not_cover_it():
    second = models.Index(fields=["code", "customer"], name="co_idx")
    partial = models.Index(fields=["customer"], name="open_idx", condition=models.Q(amount__gt=0))
    ops = [
        ADD_UNINDEXED,
        migrations.AddIndex("order", second),
        migrations.AddIndex("order", partial),
    ]
    assert codes(lint(ops, setup=SETUP)).count("SO501") == 1


def test_dropping_the_index_of_an_existing_foreign_key_fires_at_that_operation():
    setup = [*SETUP, migrations.AddField("order", "customer", fk())]
    op = migrations.AlterField("order", "customer", fk(db_index=False))
    [f] = [f for f in lint([op], setup=setup) if f.code == "SO501"]
    assert f.operation == 0


def test_problem_older_than_the_selection_is_not_blamed_on_it():
    setup = [*SETUP, ADD_UNINDEXED]
    op = migrations.AddField("order", "note", models.TextField(null=True))
    assert "SO501" not in codes(lint([op], setup=setup))


def test_foreign_key_in_raw_sql_fires_and_indexed_one_does_not():
    bad = migrations.RunSQL(
        "ALTER TABLE shop_order ADD COLUMN payer_id bigint REFERENCES shop_customer (id)"
    )
    [f] = [f for f in lint([bad], setup=SETUP) if f.code == "SO501"]
    assert "FOREIGN KEY shop_order.payer_id -> shop_customer" in f.message
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS shop_order_payer_id_idx" in f.recipe
    good = migrations.RunSQL(
        "ALTER TABLE shop_order ADD COLUMN payer_id bigint REFERENCES shop_customer (id);"
        "CREATE INDEX shop_order_payer_idx ON shop_order (payer_id)"
    )
    assert "SO501" not in codes(lint([good], setup=SETUP))


def test_foreign_keys_on_a_join_table_use_the_indexes_django_created():
    from models import coupon_model

    setup = [*SETUP, coupon_model()]
    # shop_coupon_customers: coupon_id and customer_id are both indexed by Django
    readd = migrations.RunSQL(
        "ALTER TABLE shop_coupon_customers ADD CONSTRAINT cc_fk FOREIGN KEY (customer_id) "
        "REFERENCES shop_customer (id) NOT VALID"
    )
    assert "SO501" not in codes(lint([readd], setup=setup))
    extra = migrations.RunSQL(
        "ALTER TABLE shop_coupon_customers ADD COLUMN payer_id bigint REFERENCES shop_customer (id)"
    )
    assert "SO501" in codes(lint([extra], setup=setup))


def test_join_table_columns_of_a_self_referential_many_to_many():
    from django.db.migrations.state import ProjectState

    from schemaops.catalog import join_tables

    state = ProjectState()
    migrations.CreateModel(
        "Person",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("friends", models.ManyToManyField("shop.Person")),
        ],
    ).state_forwards("shop", state)
    join = join_tables(state)["shop_person_friends"]
    assert join.indexed_columns == {"from_person_id", "to_person_id"}
