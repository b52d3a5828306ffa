"""migrate's plan: each migration once, forwards (the technique trace uses), and a target
behind what is applied still refused, as Django's backwards case."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from schemaops.apply.planning import behind, build_plan
from schemaops.errors import ConfigError

LATE = ("orders", "0006_order_customer_created_idx")
EARLY = ("orders", "0002_order_status")


def _executor(applied: set[tuple[str, str]]) -> SimpleNamespace:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    loader.applied_migrations = {key: loader.graph.nodes[key] for key in applied}
    return SimpleNamespace(loader=loader)


def test_a_target_an_earlier_target_passed_is_planned_once_forwards() -> None:
    executor = _executor(set())
    # Django's own migration_plan([LATE, EARLY]) plans 0003..0006 back, then forwards again
    django = MigrationExecutor(None).migration_plan  # type: ignore[arg-type]
    assert any(backwards for _, backwards in django([LATE, EARLY])), "Django's plan changed"
    plan = build_plan(executor, [LATE, EARLY], None)
    keys = [item.key for item in plan.items]
    assert len(keys) == len(set(keys))  # never twice
    orders = [name for app, name in keys if app == "orders"]
    assert orders == sorted(orders) and orders[-1] == LATE[1]


def test_applied_migrations_are_not_planned_and_a_target_behind_them_is_refused() -> None:
    applied = {("orders", "0001_initial"), ("orders", "0002_order_status")}
    executor = _executor(applied | {("customers", "0001_initial")})
    keys = [item.key for item in build_plan(executor, [LATE], None).items]
    assert not applied & set(keys) and LATE in keys
    assert not behind(executor.loader, [EARLY])  # the last applied one: nothing to undo
    executor = _executor(
        applied | {("customers", "0001_initial"), ("orders", "0003_order_total_cents")}
    )
    assert behind(executor.loader, [EARLY])
    with pytest.raises(ConfigError, match="behind what the database has applied"):
        build_plan(executor, [EARLY], None)
