from django.db import migrations, models
from lintkit import codes, lint
from models import order_model
from planned import planned


def so209(findings):
    return [f for f in findings if f.code == "SO209"]


def noop(apps, schema_editor):
    pass


def test_add_field_with_index_is_reported_once_by_the_index_rule():
    # one operation: ADD COLUMN then CREATE INDEX; SO201 owns the index build and its fix
    op = migrations.AddField(
        "order", "ref", models.CharField(max_length=10, null=True, db_index=True)
    )
    findings = lint([op], setup=[order_model()])
    assert not so209(findings)
    assert [f.code for f in findings].count("SO201") == 1
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS" in planned([op], [order_model()])


def test_same_operation_in_non_atomic_migration_is_safe():
    op = migrations.AddField(
        "order", "ref", models.CharField(max_length=10, null=True, db_index=True)
    )
    assert "SO209" not in codes(lint([op], setup=[order_model()], atomic=False))


def test_alter_then_index_in_two_operations_fires_with_split_recipe():
    ops = [
        migrations.AddField("order", "ref", models.CharField(max_length=10, null=True)),
        migrations.AddIndex("order", models.Index(fields=["amount"], name="order_amount_idx")),
    ]
    f = so209(lint(ops, setup=[order_model()]))[0]
    assert "AddIndex order_amount_idx runs CREATE INDEX" in f.message
    assert f.operation == 1
    assert "commits first" in f.recipe
    # the planner's remedy of the slow operation splits the migration there
    recipe = planned(ops, [order_model()], index=1)
    assert "0002_change_1_keep.py" in recipe and "atomic = False" in recipe


def test_backfill_after_add_field_fires():
    ops = [
        migrations.AddField("order", "ref", models.CharField(max_length=10, null=True)),
        migrations.RunSQL("UPDATE shop_order SET ref = code"),
    ]
    f = so209(lint(ops, setup=[order_model()]))[0]
    assert "UPDATE on shop_order" in f.message
    runpython = [ops[0], migrations.RunPython(noop, migrations.RunPython.noop)]
    assert len(so209(lint(runpython, setup=[order_model()]))) == 1


def test_quick_steps_only_and_new_tables_are_safe():
    quick = [
        migrations.AddField("order", "ref", models.CharField(max_length=10, null=True)),
        migrations.AddField("order", "note", models.TextField(null=True)),
    ]
    assert "SO209" not in codes(lint(quick, setup=[order_model()]))
    new_table = [
        order_model(),
        migrations.AddIndex("order", models.Index(fields=["code"], name="i")),
    ]
    assert "SO209" not in codes(lint(new_table))


def test_runsql_alter_then_index_in_one_string_fires():
    sql = "ALTER TABLE shop_order ADD COLUMN z int; CREATE INDEX zi ON shop_order (z)"
    assert len(so209(lint([migrations.RunSQL(sql)], setup=[order_model()]))) == 1


def test_validate_of_a_constraint_added_not_valid_here_is_left_to_so213():
    """One hazard, one verdict: SO213 describes ADD ... NOT VALID + VALIDATE in one transaction."""
    ops = [
        migrations.RunSQL(
            "ALTER TABLE shop_order ADD CONSTRAINT amt CHECK (amount >= 0) NOT VALID"
        ),
        migrations.RunSQL("ALTER TABLE shop_order VALIDATE CONSTRAINT amt"),
    ]
    found = lint(ops, setup=[order_model()])
    assert "SO213" in codes(found) and not so209(found)


def test_validate_after_another_exclusive_step_is_still_reported():
    ops = [
        migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code SET DEFAULT ''"),
        migrations.RunSQL("ALTER TABLE shop_order VALIDATE CONSTRAINT amt"),
    ]
    found = lint(ops, setup=[order_model()])
    assert so209(found) and "SO213" not in codes(found)
