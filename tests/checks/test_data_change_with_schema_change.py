from django.db import migrations, models
from lintkit import codes, lint
from models import order_model


def fill(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(total=None).update(total=0)


ADD_TOTAL = migrations.AddField("order", "total", models.IntegerField(null=True))


def test_runpython_after_add_field_fires_and_splits_the_migration():
    ops = [ADD_TOTAL, migrations.RunPython(fill, migrations.RunPython.noop)]
    findings = [f for f in lint(ops, setup=[order_model()]) if f.code == "SO303"]
    assert len(findings) == 1
    f = findings[0]
    assert f.operation == 1  # points at the data change
    assert "RunPython(fill)" in f.message and "ACCESS EXCLUSIVE lock on shop_order" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert "remove RunPython(fill) from this migration" in f.recipe
    assert 'on shop.Order (`model = "shop.Order"`)' in f.recipe  # named from the state
    assert "schemaops backfill start" in f.recipe


def test_runsql_update_before_create_index_fires():
    ops = [
        migrations.RunSQL("UPDATE shop_order SET code = 'x'", migrations.RunSQL.noop),
        migrations.RunSQL("CREATE INDEX i ON shop_order (code)", "DROP INDEX i"),
    ]
    f = next(f for f in lint(ops, setup=[order_model()]) if f.code == "SO303")
    assert "waits for SHARE" in f.message


def test_non_atomic_migration_is_safe():
    ops = [ADD_TOTAL, migrations.RunPython(fill, migrations.RunPython.noop)]
    assert "SO303" not in codes(lint(ops, setup=[order_model()], atomic=False))


def test_data_change_with_a_new_table_only_is_safe():
    ops = [order_model(), migrations.RunPython(fill, migrations.RunPython.noop)]
    assert "SO303" not in codes(lint(ops))


def test_state_only_alter_field_is_not_a_schema_change():
    same_db = migrations.AlterField(
        "order", "code", models.CharField(max_length=20, help_text="the order code")
    )
    ops = [same_db, migrations.RunPython(fill, migrations.RunPython.noop)]
    assert "SO303" not in codes(lint(ops, setup=[order_model()]))


def test_data_change_alone_is_not_flagged_by_this_rule():
    ops = [migrations.RunPython(fill, migrations.RunPython.noop)]
    assert "SO303" not in codes(lint(ops, setup=[order_model()]))


def test_runsql_ddl_lock_comes_from_the_lock_map():
    """VALIDATE CONSTRAINT holds SHARE UPDATE EXCLUSIVE, CREATE TRIGGER SHARE ROW EXCLUSIVE."""
    update = migrations.RunSQL("UPDATE shop_order SET code = 'x'", migrations.RunSQL.noop)
    validate = migrations.RunSQL("ALTER TABLE shop_order VALIDATE CONSTRAINT amount_pos")
    f = next(f for f in lint([validate, update], setup=[order_model()]) if f.code == "SO303")
    assert "its SHARE UPDATE EXCLUSIVE lock on shop_order" in f.message
    assert f.lock.startswith('SHARE UPDATE EXCLUSIVE on "shop_order"')
    trigger = migrations.RunSQL(
        "CREATE TRIGGER t BEFORE UPDATE ON shop_order FOR EACH ROW "
        "EXECUTE FUNCTION suppress_redundant_updates_trigger()"
    )
    f = next(f for f in lint([update, trigger], setup=[order_model()]) if f.code == "SO303")
    assert "waits for SHARE ROW EXCLUSIVE" in f.message
    fillfactor = migrations.RunSQL("ALTER TABLE shop_order SET (fillfactor = 70)")
    f = next(f for f in lint([fillfactor, update], setup=[order_model()]) if f.code == "SO303")
    assert f.lock.startswith('SHARE UPDATE EXCLUSIVE on "shop_order"')


def test_django_operation_lock_comes_from_the_lock_map():
    index = migrations.AddIndex("order", models.Index(fields=["code"], name="order_code_idx"))
    ops = [index, migrations.RunPython(fill, migrations.RunPython.noop)]
    f = next(f for f in lint(ops, setup=[order_model()]) if f.code == "SO303")
    assert "its SHARE lock on shop_order" in f.message


def test_rename_field_keeping_its_column_is_not_a_schema_change():
    keep = migrations.RenameField("order", "code", "reference")
    ops = [
        migrations.AlterField("order", "code", models.CharField(max_length=20, db_column="code")),
        keep,
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
    assert "SO303" not in codes(lint(ops[1:], setup=[order_model(), ops[0]]))


def test_the_strongest_lock_of_a_multi_statement_runsql_is_claimed():
    """CREATE INDEX (SHARE) then ADD COLUMN (ACCESS EXCLUSIVE): the data change waits for
    the stronger one, whichever statement comes first."""
    ddl = migrations.RunSQL(
        "CREATE INDEX i ON shop_order (code); ALTER TABLE shop_order ADD COLUMN note text"
    )
    update = migrations.RunSQL("UPDATE shop_order SET code = 'x'", migrations.RunSQL.noop)
    f = next(f for f in lint([ddl, update], setup=[order_model()]) if f.code == "SO303")
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
