from django.db import migrations, models
from django.db.migrations.state import ProjectState
from django.db.migrations.writer import MigrationWriter
from lintkit import codes, lint
from models import order_model

from schemaops.remedy.planner import plan_operation


def planned(op, *setup):
    state = ProjectState()
    for before in setup:
        before.state_forwards("shop", state)
    return plan_operation(op, "shop", state)


def sql_of(steps):
    return "\n".join(MigrationWriter.serialize(o)[0] for s in steps for o in s.operations)


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
    assert "no default: existing NULLs must be filled" in f.message
    assert f.recipe is None  # the planner's remedy, one per operation


def test_the_remedy_tightens_after_the_deploy_only():
    """A CHECK NOT VALID before the deploy would refuse the old code's NULLs at once."""
    remedy = planned(make_not_null(), order_model())
    assert remedy.pre == [] and len(remedy.post) == 2
    post = sql_of(remedy.post)
    assert "CHECK (legacy IS NOT NULL) NOT VALID" in post
    assert "VALIDATE CONSTRAINT" in post and "SET NOT NULL" in post
    assert "has no default: existing NULLs must be filled" in remedy.backfill


def test_a_default_becomes_a_backfill_not_an_update_under_the_lock():
    op = migrations.AlterField("order", "legacy", models.CharField(max_length=20, default="x"))
    f = next(f for f in lint([op], setup=[order_model()]) if f.code == "SO109")
    assert "existing NULLs get the default" in f.message
    remedy = planned(op, order_model())
    assert "UPDATE" not in sql_of(remedy.post) and "SET DEFAULT" not in sql_of(remedy.post)
    assert 'start shop.Order --set "legacy = \'x\'" --where "legacy IS NULL"' in remedy.backfill


def test_a_foreign_key_keeps_its_constraint_and_index():
    parent = migrations.CreateModel("Parent", [("id", models.BigAutoField(primary_key=True))])
    fk = models.ForeignKey("shop.parent", null=True, on_delete=models.CASCADE)
    setup = [parent, order_model(("parent", fk))]
    op = migrations.AlterField(
        "order", "parent", models.ForeignKey("shop.parent", on_delete=models.CASCADE)
    )
    forwards = [
        statement
        for step in planned(op, *setup).post
        for outer in step.operations
        for run in outer.database_operations
        for statement in run.sql
    ]
    assert forwards[0].endswith("CHECK (parent_id IS NOT NULL) NOT VALID")
    assert not [s for s in forwards if "FOREIGN KEY" in s or "INDEX" in s]  # key and index kept
    assert [s for s in forwards if "DROP CONSTRAINT" in s] == [
        "ALTER TABLE shop_order DROP CONSTRAINT shop_order_parent_id_notnull"
    ]


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


def test_runsql_recipe_quotes_the_names_it_was_given():
    sql = migrations.RunSQL('ALTER TABLE "Shop Order" ALTER COLUMN "Legacy" SET NOT NULL')
    (f,) = [f for f in lint([sql]) if f.code == "SO109"]
    assert 'ALTER TABLE "Shop Order" ADD CONSTRAINT "Shop Order_Legacy_not_null"' in f.recipe
    assert 'CHECK ("Legacy" IS NOT NULL) NOT VALID' in f.recipe
