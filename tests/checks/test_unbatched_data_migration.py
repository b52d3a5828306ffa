from django.db import migrations
from lintkit import codes, lint
from models import order_model


def bulk_update(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(legacy__isnull=True).update(legacy="none")


def save_loop(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    for order in Order.objects.all():
        order.amount += 1
        order.save()


def read_only(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    return Order.objects.count()


def run(func):
    return migrations.RunPython(func, migrations.RunPython.noop)


def test_runpython_update_fires_with_backfill_command_for_the_model():
    findings = [f for f in lint([run(bulk_update)], setup=[order_model()]) if f.code == "SO305"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "warning"
    assert "RunPython(bulk_update) calls .update()" in f.message
    assert 'model = "shop.Order"' in f.recipe and "shop/backfills.py" in f.recipe
    assert "schemaops backfill start shop.BulkUpdate --wait" in f.recipe


def audit_log(apps, schema_editor):
    """Reads the customer model, writes the order model: which table is walked is unknown."""
    Customer = apps.get_model("shop", "Customer")
    Order = apps.get_model("shop", "Order")
    for customer in Customer.objects.all():
        Order.objects.filter(code=customer.name).update(legacy="c")


def test_runpython_on_several_models_says_it_cannot_tell_rather_than_guess():
    from django.db import models

    customer = migrations.CreateModel(
        "Customer",
        [("id", models.BigAutoField(primary_key=True)), ("name", models.CharField(max_length=9))],
    )
    lints = lint([run(audit_log)], setup=[order_model(), customer])
    f = next(f for f in lints if f.code == "SO305")
    assert "cannot tell which table" in f.recipe
    assert "shop.Customer, shop.Order" in f.recipe or "shop.Order, shop.Customer" in f.recipe


def test_runpython_save_loop_fires():
    f = next(f for f in lint([run(save_loop)], setup=[order_model()]) if f.code == "SO305")
    assert ".save() in a loop" in f.message


def test_runpython_reading_only_or_non_atomic_is_not_flagged():
    assert "SO305" not in codes(lint([run(read_only)], setup=[order_model()]))
    assert "SO305" not in codes(lint([run(bulk_update)], setup=[order_model()], atomic=False))


def test_runsql_update_without_key_range_fires_with_backfill_command():
    sql = migrations.RunSQL(
        "UPDATE shop_order SET legacy = upper(code) WHERE legacy IS NULL", migrations.RunSQL.noop
    )
    f = next(f for f in lint([sql], setup=[order_model()]) if f.code == "SO305")
    assert "UPDATE on shop_order (WHERE legacy IS NULL" in f.message
    assert (
        'schemaops backfill start shop.Order --set "legacy = upper(code)" '
        '--where "legacy IS NULL"' in f.recipe
    )


def test_runsql_delete_without_where_fires_with_batched_delete():
    sql = migrations.RunSQL("DELETE FROM shop_order", migrations.RunSQL.noop)
    f = next(f for f in lint([sql], setup=[order_model()]) if f.code == "SO305")
    assert "small committed batches" in f.recipe


def test_runsql_keyed_to_a_range_is_safe():
    sql = migrations.RunSQL(
        [
            "UPDATE shop_order SET legacy = 'x' WHERE id BETWEEN 1 AND 1000",
            "UPDATE shop_order SET legacy = 'x' WHERE id >= 1 AND id < 1000 AND legacy IS NULL",
            "DELETE FROM shop_order WHERE id = 5",
        ],
        migrations.RunSQL.noop,
    )
    assert "SO305" not in codes(lint([sql], setup=[order_model()]))


def test_runsql_update_with_only_a_lower_bound_fires():
    sql = migrations.RunSQL("UPDATE shop_order SET legacy = 'x' WHERE id > 10", "")
    assert "SO305" in codes(lint([sql], setup=[order_model()]))


def test_update_of_a_table_created_in_the_same_migration_is_exempt():
    sql = migrations.RunSQL("CREATE TABLE t (id int, a int); UPDATE t SET a = 1", "")
    assert "SO305" not in codes(lint([sql]))


def test_runpython_lock_names_the_table_of_the_model_it_uses():
    f = next(f for f in lint([run(bulk_update)], setup=[order_model()]) if f.code == "SO305")
    assert f.lock.startswith('ROW EXCLUSIVE on "shop_order"')
