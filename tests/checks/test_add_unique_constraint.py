from django.db import migrations, models
from lintkit import codes, lint
from models import order_model
from planned import planned


def so203(findings):
    return [f for f in findings if f.code == "SO203"]


def test_add_constraint_unique_fires_with_using_index_recipe():
    op = migrations.AddConstraint(
        "order", models.UniqueConstraint(fields=["code"], name="uq_order_code")
    )
    findings = so203(lint([op], setup=[order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert "shop_order" in f.message and "uq_order_code" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert "schemaops fix shop 0002_change" in f.recipe
    recipe = planned([op], [order_model()])
    assert "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_order_code ON shop_order (code)" in (
        recipe
    )
    assert "ADD CONSTRAINT uq_order_code UNIQUE USING INDEX uq_order_code" in recipe
    assert "SeparateDatabaseAndState" in recipe and "atomic = False" in recipe
    assert "migrations.AddConstraint(" in recipe


def test_conditional_unique_constraint_uses_djangos_index_sql_concurrently():
    constraint = models.UniqueConstraint(
        fields=["code"], condition=models.Q(amount__gt=0), name="uq_code_pos"
    )
    f = so203(lint([migrations.AddConstraint("order", constraint)], setup=[order_model()]))[0]
    assert f.lock.startswith('SHARE on "shop_order"')
    recipe = planned([migrations.AddConstraint("order", constraint)], [order_model()])
    assert "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_code_pos ON shop_order" in recipe
    assert "WHERE amount > 0" in recipe


def test_add_field_unique_fires_and_adds_column_without_unique():
    op = migrations.AddField(
        "order", "ref", models.CharField(max_length=10, null=True, unique=True)
    )
    f = so203(lint([op], setup=[order_model()]))[0]
    assert "Order.ref" in f.message
    recipe = planned([op], [order_model()])
    assert "ADD COLUMN ref varchar(10) NULL'" in recipe  # the column without UNIQUE
    assert "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS shop_order_ref_" in recipe
    assert "varchar_pattern_ops" in recipe  # Django's second (_like) index


def test_alter_unique_together_fires():
    op = migrations.AlterUniqueTogether("order", {("code", "amount")})
    f = so203(lint([op], setup=[order_model()]))[0]
    assert "(code, amount)" in f.message
    assert "ON shop_order (code, amount)" in planned([op], [order_model()])


def test_unique_on_new_table_is_exempt():
    op = migrations.AddConstraint("order", models.UniqueConstraint(fields=["code"], name="u"))
    assert "SO203" not in codes(lint([order_model(), op]))


def test_alter_field_keeping_unique_is_safe():
    setup = [order_model(("ref", models.CharField(max_length=10, unique=True)))]
    op = migrations.AlterField("order", "ref", models.CharField(max_length=12, unique=True))
    assert "SO203" not in codes(lint([op], setup=setup))


def test_runsql_unique_constraint_and_index():
    bad = lint(
        [migrations.RunSQL("ALTER TABLE shop_order ADD CONSTRAINT u UNIQUE (code)")],
        setup=[order_model()],
    )
    f = so203(bad)[0]
    assert "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u ON shop_order (code)" in f.recipe
    bad_index = so203(
        lint([migrations.RunSQL("CREATE UNIQUE INDEX u ON shop_order (code)")], [order_model()])
    )
    assert (
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u ON shop_order (code)"
        in bad_index[0].recipe
    )
    good = lint(
        [
            migrations.RunSQL("CREATE UNIQUE INDEX CONCURRENTLY u ON shop_order (code)"),
            migrations.RunSQL("ALTER TABLE shop_order ADD CONSTRAINT u UNIQUE USING INDEX u"),
        ],
        setup=[order_model()],
        atomic=False,
    )
    assert "SO203" not in codes(good)
