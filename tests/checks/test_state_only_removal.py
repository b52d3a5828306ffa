from django.db import migrations, models
from lintkit import codes, lint
from models import coupon_model, customer_model, order_model


def state_only(*ops, database=()):
    return migrations.SeparateDatabaseAndState(
        state_operations=list(ops), database_operations=list(database)
    )


def test_nullable_column_kept_in_database_is_an_info_reminder():
    findings = lint([state_only(migrations.RemoveField("order", "legacy"))], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO106"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "info"
    assert "Order.legacy (column shop_order.legacy)" in f.message
    assert "DROP COLUMN IF EXISTS legacy" in f.recipe
    from models import recipe_migrations

    (drop,) = recipe_migrations(f.recipe)  # the planner's writer: a module that runs
    assert drop.dependencies == [("shop", "0002_change")] and drop.deploy_phase == "post"
    assert drop.operations[0].sql == "ALTER TABLE shop_order DROP COLUMN IF EXISTS legacy"


def test_not_null_column_kept_without_default_is_an_error():
    findings = lint([state_only(migrations.RemoveField("order", "code"))], setup=[order_model()])
    f = next(f for f in findings if f.code == "SO106")
    assert f.severity.label == "error"
    assert "INSERTs fail" in f.message and "ALTER COLUMN code DROP NOT NULL" in f.recipe


def test_not_null_column_made_nullable_in_database_operations_is_info():
    op = state_only(
        migrations.RemoveField("order", "code"),
        database=[migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code DROP NOT NULL")],
    )
    f = next(f for f in lint([op], setup=[order_model()]) if f.code == "SO106")
    assert f.severity.label == "info"


def test_removal_dropped_in_the_same_migration_is_silent():
    op = state_only(
        migrations.RemoveField("order", "legacy"),
        database=[migrations.RunSQL("ALTER TABLE shop_order DROP COLUMN legacy")],
    )
    assert "SO106" not in codes(lint([op], setup=[order_model()], deploy_phase="post"))


def test_state_only_delete_model_reminds_to_drop_the_table():
    setup = [order_model(), customer_model(), coupon_model()]
    findings = lint([state_only(migrations.DeleteModel("Coupon"))], setup=setup)
    f = next(f for f in findings if f.code == "SO106")
    assert "Coupon (table shop_coupon)" in f.message
    assert "DROP TABLE IF EXISTS shop_coupon" in f.recipe


def test_plain_remove_field_is_not_state_only():
    findings = lint([migrations.RemoveField("order", "legacy")], setup=[order_model()])
    assert "SO106" not in codes(findings)


def test_reminder_is_silent_once_a_later_migration_drops_the_column():
    from lintkit import FakeLoader, make_migration

    from schemaops.config import Config
    from schemaops.linter import Linter

    first = make_migration("0001_initial", [order_model()])
    second = make_migration(
        "0002_change",
        [state_only(migrations.RemoveField("order", "legacy"))],
        dependencies=[("shop", "0001_initial")],
    )
    third = make_migration(
        "0003_drop",
        [migrations.RunSQL("ALTER TABLE shop_order DROP COLUMN IF EXISTS legacy", "")],
        dependencies=[("shop", "0002_change")],
        deploy_phase="post",
    )
    with_drop = Linter(FakeLoader([first, second, third]), Config()).run({("shop", "0002_change")})
    assert "SO106" not in codes(with_drop.findings)
    without = Linter(FakeLoader([first, second]), Config()).run({("shop", "0002_change")})
    assert "SO106" in codes(without.findings)


def test_db_default_set_by_database_operations_keeps_it_an_info():
    from django.db import models

    op = state_only(
        migrations.RemoveField("order", "code"),
        database=[
            migrations.AlterField("order", "code", models.CharField(max_length=20, db_default=""))
        ],
    )
    f = next(f for f in lint([op], setup=[order_model()]) if f.code == "SO106")
    assert f.severity.label == "info"


def test_db_default_set_by_an_earlier_migration_keeps_it_an_info():
    setup = [
        order_model(),
        migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code SET DEFAULT ''"),
    ]
    op = state_only(migrations.RemoveField("order", "code"))
    f = next(f for f in lint([op], setup=setup) if f.code == "SO106")
    assert f.severity.label == "info"


def test_model_moved_to_another_app_is_not_a_removal():
    from django.db import models

    move_in = state_only(
        migrations.CreateModel(
            "Order",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("code", models.CharField(max_length=20)),
                ("legacy", models.CharField(max_length=20, null=True)),
                ("amount", models.IntegerField(default=0)),
            ],
            options={"db_table": "shop_order"},
        )
    )
    from lintkit import FakeLoader, make_migration

    from schemaops.config import Config
    from schemaops.linter import Linter

    first = make_migration("0001_initial", [order_model()])
    out = make_migration(
        "0002_move_out",
        [state_only(migrations.RemoveField("order", "code"), migrations.DeleteModel("Order"))],
        dependencies=[("shop", "0001_initial")],
    )
    into = make_migration(
        "0001_move_in", [move_in], app="sales", dependencies=[("shop", "0002_move_out")]
    )
    linter = Linter(FakeLoader([first, out, into]), Config(assume_timeouts=True))
    moved = linter.run({("shop", "0002_move_out")}).findings
    assert "SO106" not in codes(moved)
    gone = Linter(FakeLoader([first, out]), Config(assume_timeouts=True))
    assert "SO106" in codes(gone.run({("shop", "0002_move_out")}).findings)


def _box(*fields):
    return migrations.CreateModel(
        "Box",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("w", models.IntegerField()),
            *fields,
        ],
    )


def test_generated_columns_never_need_a_value_from_the_insert():
    doubled = models.GeneratedField(
        expression=models.F("w") * 2, output_field=models.IntegerField(), db_persist=True
    )
    setup = [_box(("w2", doubled))]
    for name, severity in (("w2", "info"), ("w", "error")):
        op = migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField("box", name)]
        )
        (f,) = [f for f in lint([op], setup=setup) if f.code == "SO106"]
        assert f.severity.label == severity, name
