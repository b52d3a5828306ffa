import pytest
from django.db import migrations, models
from lintkit import codes, lint
from models import order_model


def so206(findings):
    return [f for f in findings if f.code == "SO206"]


def test_integer_to_bigint_fires_with_expand_contract_recipe():
    op = migrations.AlterField("order", "amount", models.BigIntegerField(default=0))
    findings = so206(lint([op], setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert "Order.amount" in f.message and "from int4 to int8" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"') and "rewritten" in f.lock
    assert 'migrations.AddField("order", "amount_new", models.BigIntegerField(' in f.recipe
    assert "schemaops backfill start shop.Order" in f.recipe
    assert "db_column='amount_new'" in f.recipe and 'deploy_phase = "post"' in f.recipe


@pytest.mark.parametrize(
    "field",
    [
        models.CharField(max_length=40),  # widen varchar(20)
        models.TextField(),  # varchar -> text
        models.CharField(max_length=20, null=True),  # no type change
    ],
)
def test_binary_coercible_changes_are_safe(field):
    op = migrations.AlterField("order", "code", field)
    assert "SO206" not in codes(lint([op], setup=[order_model()]))


def test_shrinking_varchar_fires():
    op = migrations.AlterField("order", "code", models.CharField(max_length=10))
    assert len(so206(lint([op], setup=[order_model()]))) == 1


def test_type_change_on_new_table_is_exempt():
    op = migrations.AlterField("order", "amount", models.BigIntegerField(default=0))
    assert "SO206" not in codes(lint([order_model(), op]))


def test_runsql_type_change_uses_the_state_for_the_old_type():
    bad = so206(
        lint(
            [migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN amount TYPE bigint")],
            [order_model()],
        )
    )
    assert "from int4" in bad[0].message
    widen = "ALTER TABLE shop_order ALTER COLUMN code TYPE varchar(50)"
    assert "SO206" not in codes(lint([migrations.RunSQL(widen)], [order_model()]))
    using = "ALTER TABLE shop_order ALTER COLUMN code TYPE text USING upper(code)"
    assert len(so206(lint([migrations.RunSQL(using)], [order_model()]))) == 1


SLUG = ("slug", models.CharField(max_length=20, db_index=True))


def test_widening_an_indexed_varchar_rebuilds_nothing():
    # Django emits only ALTER COLUMN TYPE varchar(50): the index and its _like twin stay
    wider = migrations.AlterField("order", "slug", models.CharField(max_length=50, db_index=True))
    assert lint([wider], setup=[order_model(SLUG)]) == []


def test_indexed_varchar_to_integer_is_a_rewrite():
    to_int = migrations.AlterField("order", "slug", models.IntegerField(db_index=True))
    assert so206(lint([to_int], setup=[order_model(SLUG)]))


def test_collation_change_on_an_indexed_column_rebuilds_its_index():
    # checked on PostgreSQL 15: the index gets a new relfilenode, the table keeps its own
    collated = models.CharField(max_length=20, db_index=True, db_collation="C")
    (f,) = so206(lint([migrations.AlterField("order", "slug", collated)], [order_model(SLUG)]))
    assert "collation of shop_order.slug to C" in f.message and "(db_index)" in f.message
    assert "rebuilt" in f.lock


def test_collation_change_on_an_unindexed_column_is_silent():
    plain = migrations.AlterField(
        "order", "code", models.CharField(max_length=20, db_collation="C")
    )
    assert not so206(lint([plain], [order_model()]))


def test_widening_the_elements_of_an_array_rewrites_the_table():
    from django.contrib.postgres.fields import ArrayField

    tags = ("tags", ArrayField(models.CharField(max_length=10), null=True))
    wider = ArrayField(models.CharField(max_length=20), null=True)
    (f,) = so206(lint([migrations.AlterField("order", "tags", wider)], [order_model(tags)]))
    assert "varchar(10)[] to varchar(20)[]" in f.message
