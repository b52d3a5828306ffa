"""Proof of the ``AlterModelTable`` remedy: the table renamed, a view under the old name.

As in test_proof.py, ``schemaops fix`` rewrites the project and the result
must (a) pass ``schemaops check`` with no error, (b) apply pre then post on
seeded tables and reverse, (c) hold no write-blocking lock past the budget,
and (d) end in the original's schema and project state (the table does get
its new name). ``trace --compat`` replays the rollout: the old code works
through the view with the fix, and breaks on the original.
"""

from __future__ import annotations

from typing import Any

import proof_project
import pytest
from proof_support import assert_a_to_d, compat_breaks, copy_of, prove_beside_original

CASES: dict[str, tuple[str, str]] = {
    "table": ('migrations.AlterModelTable("item", "%(app)s_things")', "rename-with-view"),
}


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    root = tmp_path_factory.mktemp("table_view")
    apps = proof_project.write(root, CASES)
    original = copy_of(root, tmp_path_factory.mktemp("table_view_original"))
    return prove_beside_original(root, original, apps, *proof_databases, compat=True)


def test_check_shows_the_planned_remedy_on_the_original(proof: Any) -> None:
    report = proof["original_check"]
    mine = [f for f in report["findings"] if f["app"] == "c_table" and f["severity"] == "error"]
    assert [f["code"] for f in mine] == ["SO104"]
    remedy = report["remedies"][mine[0]["remedy"]]
    assert remedy["kind"] == "rename-with-view"
    assert [f["post"] for f in remedy["files"]] == [False, True]


def test_fix_writes_the_rename_the_view_and_its_drop(proof: Any) -> None:
    files = proof["files"]["c_table"]
    pre, post = files["0002_unsafe"], files["0002_unsafe_post"]
    assert "ALTER TABLE c_table_item RENAME TO c_table_things" in pre
    assert "CREATE VIEW c_table_item AS SELECT * FROM c_table_things" in pre
    assert "migrations.AlterModelTable(" in pre
    assert "DROP VIEW IF EXISTS c_table_item" in post and 'deploy_phase = "post"' in post


def test_a_to_d(proof: Any) -> None:
    assert_a_to_d(proof, "c_table")


def test_d_the_table_has_its_new_name(proof: Any) -> None:
    tables = {c[0] for c in proof["fixed"]["c_table"]["columns"]}
    assert "c_table_things" in tables and "c_table_item" not in tables, "the view is gone"


def test_compat_the_old_code_works_through_the_view(proof: Any) -> None:
    assert compat_breaks(proof["compat"], expected=False) == []


def test_compat_the_original_rename_breaks_the_old_code(proof: Any) -> None:
    breaks = compat_breaks(proof["compat_original"], expected=True)
    assert any(b["table"] == "c_table_item" for b in breaks), breaks


# -- the planner's choice, without a database: a firing and non-firing cases ------------


def _state(m2m: Any = None) -> Any:
    from django.db import models
    from django.db.migrations.state import ModelState, ProjectState

    state = ProjectState()
    fields = [("id", models.BigAutoField(primary_key=True))]
    if m2m is not None:
        fields.append(("tags", m2m))
    state.add_model(ModelState("shop", "Order", fields, {}))
    return state


def test_a_table_rename_gets_the_view_remedy() -> None:
    from django.db import migrations

    from schemaops.remedy.planner import plan_operation

    remedy = plan_operation(migrations.AlterModelTable("order", "orders"), "shop", _state())
    assert remedy is not None and remedy.kind == "rename-with-view"
    expand, contract = remedy.steps
    (split,) = expand.operations
    assert split.database_operations[0].sql[1] == "CREATE VIEW shop_order AS SELECT * FROM orders"
    assert contract.post and contract.operations[0].sql == ["DROP VIEW IF EXISTS shop_order"]


@pytest.mark.parametrize(
    ("shape", "why"),
    [
        ("same", "the table keeps its name"),
        ("new", "a table created in the same migration: no code uses it yet"),
        ("m2m", "its join table would be renamed too"),
        ("post", "after the deploy the new code needs the new name already"),
    ],
)
def test_a_table_rename_not_planned(shape: str, why: str) -> None:
    from django.db import migrations, models

    from schemaops.remedy.planner import PlanContext, plan_operation

    table = "shop_order" if shape == "same" else "orders"
    state = _state(models.ManyToManyField("shop.order") if shape == "m2m" else None)
    remedy = plan_operation(
        migrations.AlterModelTable("order", table),
        "shop",
        state,
        PlanContext(
            new_tables={"shop_order"} if shape == "new" else set(), post_phase=shape == "post"
        ),
    )
    assert remedy is None, why
