"""The planner's remedies for data changes (schemaops.remedy.fill), without a database:
which RunPython / RunSQL it takes out of the migration, and which it leaves to the rules."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.migrations.state import ProjectState

from schemaops.remedy.planner import plan_operation

SCALE = 2


def order_and_customer() -> ProjectState:
    state = ProjectState()
    for name in ("Order", "Customer"):
        migrations.CreateModel(
            name,
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("code", models.CharField(max_length=20, null=True)),
                ("total", models.IntegerField(null=True)),
            ],
        ).state_forwards("shop", state)
    return state


def fill_totals(apps: Any, schema_editor: Any) -> None:
    Order = apps.get_model("shop", "Order")
    Order.objects.filter(total__isnull=True).update(total=0)


def copy_codes(apps: Any, schema_editor: Any) -> None:
    Customer = apps.get_model("shop", "Customer")
    Order = apps.get_model("shop", "Order")
    for customer in Customer.objects.all():
        Order.objects.filter(code=customer.code).update(total=1)


def make_orders(apps: Any, schema_editor: Any) -> None:
    Order = apps.get_model("shop", "Order")
    Order.objects.bulk_create([Order(code="a")])
    Order.objects.update(total=1)


def scaled(apps: Any, schema_editor: Any) -> None:
    Order = apps.get_model("shop", "Order")
    Order.objects.update(total=SCALE)


def count_only(apps: Any, schema_editor: Any) -> None:
    apps.get_model("shop", "Order").objects.count()


def plan(op: Any) -> Any:
    return plan_operation(op, "shop", order_and_customer())


def test_a_runpython_on_one_model_becomes_a_backfill_class() -> None:
    remedy = plan(migrations.RunPython(fill_totals, migrations.RunPython.noop))
    assert remedy.kind == "data-change-to-backfill" and remedy.steps == []
    name, code = remedy.backfill_class
    assert name == "FillTotalsBackfill"
    assert "def fill_totals(apps: Any, schema_editor: Any) -> None:" in code
    assert "model = 'shop.Order'" in code
    assert "return run_on_batch(fill_totals, self.model_class(), batch)" in code
    assert "from typing import Any" in code  # the migration module's imports come along
    compile("from schemaops.backfill import Backfill\n" + code, "backfills.py", "exec")
    assert "schemaops backfill start shop.FillTotalsBackfill --wait" in remedy.backfill


def test_what_cannot_be_walked_by_one_key_range_gets_no_remedy() -> None:
    """Several models (which table?), new rows, a module constant that would not be
    copied along, a read, a RunPython already outside a transaction."""
    for func in (copy_codes, make_orders, scaled, count_only):
        assert plan(migrations.RunPython(func)) is None, func.__name__
    assert plan(migrations.RunPython(fill_totals, atomic=False)) is None


def test_a_plain_update_becomes_a_set_backfill_and_a_keyed_one_stays() -> None:
    update = migrations.RunSQL("UPDATE shop_order SET total = 0 WHERE total IS NULL")
    remedy = plan(update)
    assert remedy.steps == []
    assert (
        'schemaops backfill start shop.Order --set "total = 0" --where "total IS NULL"'
        in remedy.backfill
    )
    keyed = migrations.RunSQL("UPDATE shop_order SET total = 0 WHERE id BETWEEN 1 AND 100")
    assert plan(keyed) is None
    unknown = migrations.RunSQL("UPDATE elsewhere SET total = 0")
    assert plan(unknown) is None
