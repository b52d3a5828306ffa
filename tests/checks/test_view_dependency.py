from django.db import migrations, models
from lintkit import codes, lint
from models import order_model

VIEW = migrations.RunSQL("CREATE VIEW order_codes AS SELECT id, code FROM shop_order")
MATVIEW = migrations.RunSQL("CREATE MATERIALIZED VIEW order_all AS SELECT * FROM shop_order")


def so117(findings):
    return [f for f in findings if f.code == "SO117"]


def test_remove_field_read_by_a_view_drops_the_view_with_cascade():
    (f,) = so117(lint([migrations.RemoveField("order", "code")], setup=[order_model(), VIEW]))
    assert "which view(s) order_codes read" in f.message and "dropped with it" in f.message


def test_type_change_of_a_column_a_view_reads_fails():
    wider = migrations.AlterField("order", "amount", models.BigIntegerField(default=0))
    (f,) = so117(lint([wider], setup=[order_model(), MATVIEW]))
    assert "order_all" in f.message and "migration fails" in f.message
    sql = migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code TYPE text")
    assert so117(lint([sql], setup=[order_model(), VIEW]))


def test_raw_drops_fail_without_cascade_and_drop_the_view_with_it():
    plain = migrations.RunSQL("ALTER TABLE shop_order DROP COLUMN code")
    (f,) = so117(lint([plain], setup=[order_model(), VIEW]))
    assert "migration fails" in f.message
    cascade = migrations.RunSQL("DROP TABLE shop_order CASCADE")
    (f,) = so117(lint([cascade], setup=[order_model(), VIEW]))
    assert "dropped with it" in f.message


def test_columns_no_view_reads_and_dropped_views_are_silent():
    legacy = migrations.RemoveField("order", "legacy")
    assert "SO117" not in codes(lint([legacy], setup=[order_model(), VIEW]))
    dropped = migrations.RunSQL("DROP VIEW order_codes")
    code = migrations.RemoveField("order", "code")
    assert "SO117" not in codes(lint([code], setup=[order_model(), VIEW, dropped]))
    redefined = [migrations.RunSQL("DROP VIEW order_codes"), code]
    assert "SO117" not in codes(lint(redefined, setup=[order_model(), VIEW]))


def test_views_are_judged_as_they_stand_when_the_operation_runs():
    """Drop the view, change the column, re-create the view: what the recipe says."""
    drop = migrations.RunSQL("DROP VIEW order_codes")
    recreate = migrations.RunSQL("CREATE VIEW order_codes AS SELECT id, code FROM shop_order")
    wider = migrations.AlterField("order", "code", models.CharField(max_length=40))
    remove = migrations.RemoveField("order", "code")
    for op in (wider, remove):
        assert not so117(lint([drop, op, recreate], setup=[order_model(), VIEW]))
        # the same view created earlier in the migration than the change: it is there
        assert so117(lint([VIEW, op], setup=[order_model()]))
    one_sql = migrations.RunSQL(
        "DROP VIEW order_codes; ALTER TABLE shop_order ALTER COLUMN code TYPE text;"
        " CREATE VIEW order_codes AS SELECT id, code FROM shop_order"
    )
    assert not so117(lint([one_sql], setup=[order_model(), VIEW]))
    wrong_order = migrations.RunSQL(
        "ALTER TABLE shop_order ALTER COLUMN code TYPE text; DROP VIEW order_codes;"
        " CREATE VIEW order_codes AS SELECT id, code FROM shop_order"
    )
    assert so117(lint([wrong_order], setup=[order_model(), VIEW]))


def test_join_tables_django_drops_with_the_field_or_model_are_checked_too():
    from models import coupon_model, customer_model

    join_view = migrations.RunSQL(
        "CREATE VIEW coupon_people AS SELECT coupon_id, customer_id FROM shop_coupon_customers"
    )
    models_ = [order_model(), customer_model(), coupon_model()]
    for op in (migrations.RemoveField("coupon", "customers"), migrations.DeleteModel("coupon")):
        (f,) = so117(lint([op], setup=[*models_, join_view], deploy_phase="post"))
        assert "shop_coupon_customers" in f.message and "coupon_people" in f.message
        assert not so117(lint([op], setup=models_, deploy_phase="post"))
    other = migrations.RemoveField("coupon", "order")  # no view reads it
    assert not so117(lint([other], setup=[*models_, join_view], deploy_phase="post"))


def test_a_collation_change_is_an_alter_type_a_view_blocks():
    collated = migrations.AlterField(
        "order", "code", models.CharField(max_length=20, db_collation="C")
    )
    (f,) = so117(lint([collated], setup=[order_model(), VIEW]))
    assert "collation" in f.message and "migration fails" in f.message
    other = migrations.AlterField(
        "order", "legacy", models.CharField(max_length=20, null=True, db_collation="C")
    )
    assert not so117(lint([other], setup=[order_model(), VIEW]))
    help_only = migrations.AlterField(
        "order", "code", models.CharField(max_length=20, help_text="h")
    )
    assert not so117(lint([help_only], setup=[order_model(), VIEW]))
