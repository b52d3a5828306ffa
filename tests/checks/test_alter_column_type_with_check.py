from django.db import migrations, models
from lintkit import codes, lint
from models import lint_recipe_chain, order_model, recipe_migrations

LABEL = ("label", models.CharField(max_length=10, null=True))
NOT_BLANK = migrations.AddConstraint(
    "order", models.CheckConstraint(condition=~models.Q(label=""), name="label_not_blank")
)
WIDEN = migrations.AlterField("order", "label", models.CharField(max_length=30, null=True))


def so219(findings):
    return [f for f in findings if f.code == "SO219"]


def test_binary_coercible_alter_field_on_checked_column_fires_with_not_valid_recipe():
    (f,) = so219(lint([WIDEN], setup=[order_model(LABEL), NOT_BLANK]))
    assert "shop_order.label from varchar(10) to varchar(30) without a rewrite" in f.message
    assert "label_not_blank" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert 'migrations.RemoveConstraint("order", "label_not_blank")' in f.recipe
    assert 'AddConstraintNotValid("order", models.CheckConstraint(' in f.recipe
    assert 'ValidateConstraint("order", "label_not_blank")' in f.recipe
    first, second = recipe_migrations(f.recipe)
    kinds = [type(op).__name__ for op in first.operations]
    assert kinds == ["RemoveConstraint", "AlterField", "AddConstraintNotValid"]
    assert type(second.operations[0]).__name__ == "ValidateConstraint"


def test_recipe_lints_clean_of_this_rule_and_of_validated_checks():
    setup = [order_model(LABEL), NOT_BLANK]
    (f,) = so219(lint([WIDEN], setup=setup))
    found = codes(lint_recipe_chain(f.recipe, setup))
    assert "SO219" not in found and "SO205" not in found and "SO206" not in found


def test_runsql_type_change_on_checked_column_fires():
    sql = migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN label TYPE text")
    (f,) = so219(lint([sql], setup=[order_model(LABEL), NOT_BLANK]))
    assert "ALTER COLUMN label TYPE text on shop_order (from varchar(10))" in f.message
    assert "ALTER TABLE shop_order ALTER COLUMN label TYPE text" in f.recipe


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
