"""The trace plan: each selected migration once, forwards, whatever order the names sort in."""

from __future__ import annotations

from types import SimpleNamespace

from django.db.migrations.loader import MigrationLoader

from schemaops.trace.runner import forwards_plan


def test_a_target_an_earlier_target_passed_is_planned_once_forwards() -> None:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    executor = SimpleNamespace(loader=loader)
    # 0006 needs 0002..0005; Django's migration_plan([0006, 0002]) plans 0003..0006
    # back and forwards again after 0002
    targets = [("orders", "0006_order_customer_created_idx"), ("orders", "0002_order_status")]
    plan = forwards_plan(executor, targets, applied=set())
    keys = [(m.app_label, m.name) for m, backwards in plan]
    assert not any(backwards for _, backwards in plan)
    assert len(keys) == len(set(keys))
    orders = [name for app, name in keys if app == "orders"]
    assert orders == sorted(orders) and orders[-1] == "0006_order_customer_created_idx"
    applied = {("orders", "0001_initial")}
    later = forwards_plan(executor, targets, applied)
    assert ("orders", "0001_initial") not in [(m.app_label, m.name) for m, _ in later]
