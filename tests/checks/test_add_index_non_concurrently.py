from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from lintkit import codes, lint
from models import order_model
from planned import planned

INDEX = models.Index(fields=["code"], name="order_code_idx")


def test_add_index_fires_with_share_lock_and_concurrent_recipe():
    findings = lint([migrations.AddIndex("order", INDEX)], setup=[order_model()])
    assert codes(findings) == ["SO201"]
    assert findings[0].lock.startswith('SHARE on "shop_order"')
    assert "schemaops fix shop 0002_change" in findings[0].recipe
    recipe = planned([migrations.AddIndex("order", INDEX)], [order_model()])
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_code_idx" in recipe
    assert "atomic = False" in recipe


def test_add_index_concurrently_is_safe():
    findings = lint([AddIndexConcurrently("order", INDEX)], setup=[order_model()], atomic=False)
    assert "SO201" not in codes(findings)


def test_index_on_new_table_is_exempt():
    findings = lint([order_model(), migrations.AddIndex("order", INDEX)])
    assert "SO201" not in codes(findings)


def test_add_field_with_db_index_fires():
    op = migrations.AddField(
        "order", "ref", models.CharField(max_length=10, null=True, db_index=True)
    )
    findings = lint([op], setup=[order_model()])
    assert "SO201" in codes(findings)
    assert "schemaops fix" in next(f.recipe for f in findings if f.code == "SO201")
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS" in planned([op], [order_model()])


def test_add_nullable_field_without_index_is_safe():
    op = migrations.AddField("order", "ref", models.CharField(max_length=10, null=True))
    assert "SO201" not in codes(lint([op], setup=[order_model()]))


def test_runsql_create_index_fires_and_concurrently_does_not():
    bad = lint([migrations.RunSQL("CREATE INDEX i ON shop_order (code)")], setup=[order_model()])
    good = lint(
        [migrations.RunSQL("CREATE INDEX CONCURRENTLY i ON shop_order (code)")],
        setup=[order_model()],
        atomic=False,
    )
    assert "SO201" in codes(bad)
    assert "SO201" not in codes(good)


def test_char_field_index_recipe_also_builds_the_like_index():
    op = migrations.AddField(
        "order", "ref", models.CharField(max_length=10, null=True, db_index=True)
    )
    f = next(f for f in lint([op], setup=[order_model()]) if f.code == "SO201")
    assert "_like twin" in f.message
    recipe = planned([op], [order_model()])  # compiles every file
    assert "varchar_pattern_ops" in recipe and "shop_order_ref_" in recipe


def test_alter_index_together_fires_with_concurrent_recipe():
    op = migrations.AlterIndexTogether("order", {("code", "amount")})
    f = next(f for f in lint([op], setup=[order_model()]) if f.code == "SO201")
    assert "(code, amount)" in f.message
    recipe = planned([op], [order_model()])
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS shop_order_code_amount_" in recipe
    assert "SeparateDatabaseAndState" in recipe and "atomic = False" in recipe


def test_runsql_recipe_is_the_same_statement_made_concurrent():
    sql = "CREATE INDEX i ON shop_order (code) WHERE amount > 0"
    f = next(f for f in lint([migrations.RunSQL(sql)], [order_model()]) if f.code == "SO201")
    assert (
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON shop_order (code) WHERE amount > 0"
        in f.recipe
    )


SLUG = ("slug", models.CharField(max_length=30, db_index=True))


def _so201(op, extra=SLUG):
    return [f for f in lint([op], setup=[order_model(extra)]) if f.code == "SO201"]


def test_indexed_text_column_changing_type_family_rebuilds_its_like_index():
    """varchar -> text and text -> varchar: Django drops the _like index and builds it again
    without CONCURRENTLY; the planner's remedy rebuilds it CONCURRENTLY."""
    op = migrations.AlterField("order", "slug", models.TextField(db_index=True))
    (f,) = _so201(op)
    assert "_like" in f.message and f.severity.name == "ERROR"
    recipe = planned([op], [order_model(SLUG)])
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS" in recipe and "_like" in recipe
    text = ("slug", models.TextField(db_index=True))
    back = migrations.AlterField("order", "slug", models.CharField(max_length=30, db_index=True))
    assert _so201(back, text)


def test_widening_an_indexed_varchar_or_retyping_an_unindexed_one_builds_nothing():
    wider = migrations.AlterField("order", "slug", models.CharField(max_length=60, db_index=True))
    assert not _so201(wider)
    plain = ("slug", models.CharField(max_length=30))
    assert not _so201(migrations.AlterField("order", "slug", models.TextField()), plain)
