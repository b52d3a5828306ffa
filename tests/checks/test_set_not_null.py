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
