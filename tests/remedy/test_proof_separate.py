"""Proof of the remedy of a ``SeparateDatabaseAndState`` whose database work is a ``RunSQL``.

The inner ``RunSQL`` is planned as a top-level one (test_proof_sql.py) and the
state operations are kept in the first written migration. As in
test_proof.py, ``schemaops fix`` rewrites the project and the result must (a)
pass ``schemaops check`` with no error, (b) apply pre then post on seeded
tables and reverse, (c) hold no write-blocking lock past the budget nor scan
under one, and (d) end in the original's schema and project state.
"""

from __future__ import annotations

from typing import Any

import proof_project
import pytest
from proof_support import (
    assert_a_to_d,
    copy_of,
    prove_beside_original,
    scans_under_lock,
    written_files,
)


def separate(state: str, sql: str, reverse: str) -> str:
    return (
        f"migrations.SeparateDatabaseAndState(state_operations=[{state}], "
        f"database_operations=[migrations.RunSQL({sql!r}, reverse_sql={reverse!r})])"
    )


# case -> (the operation, the remedy kind, markers in the written files, the last one
# the state operation)
CASES: dict[str, tuple[str, str, list[str]]] = {
    "index": (
        separate(
            'migrations.AddIndex("item", models.Index(fields=["name"], name="%(app)s_name_idx"))',
            "CREATE INDEX %(app)s_name_idx ON %(app)s_item (name)",
            "DROP INDEX %(app)s_name_idx",
        ),
        "concurrent-index",
        ["CREATE INDEX CONCURRENTLY IF NOT EXISTS", "atomic = False", "migrations.AddIndex("],
    ),
    "check": (
        separate(
            'migrations.AddConstraint("item", models.CheckConstraint('
            'condition=models.Q(qty__gte=0), name="%(app)s_qty_pos"))',
            "ALTER TABLE %(app)s_item ADD CONSTRAINT %(app)s_qty_pos CHECK (qty >= 0)",
            "ALTER TABLE %(app)s_item DROP CONSTRAINT %(app)s_qty_pos",
        ),
        "not-valid-then-validate",
        ["NOT VALID", "VALIDATE CONSTRAINT", "migrations.AddConstraint("],
    ),
    "not_null": (
        separate(
            'migrations.AlterField("item", "qty", models.IntegerField())',
            "ALTER TABLE %(app)s_item ALTER COLUMN qty SET NOT NULL",
            "ALTER TABLE %(app)s_item ALTER COLUMN qty DROP NOT NULL",
        ),
        "not-null-by-check",
        ["IS NOT NULL) NOT VALID", "SET NOT NULL", "migrations.AlterField("],
    ),
}


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    root = tmp_path_factory.mktemp("proof_separate")
    apps = proof_project.write(root, {c: (op, kind) for c, (op, kind, _) in CASES.items()})
    original = copy_of(root, tmp_path_factory.mktemp("proof_separate_original"))
    return prove_beside_original(root, original, apps, *proof_databases)


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_plans_the_inner_runsql_on_the_original(proof: Any, case: str) -> None:
    report = proof["original_check"]
    mine = [f for f in report["findings"] if f["app"] == f"c_{case}" and f["severity"] == "error"]
    assert mine and all(f["remedy"] for f in mine), "the unsafe original is caught and planned"
    assert report["remedies"][mine[0]["remedy"]]["kind"] == CASES[case][1]


@pytest.mark.parametrize("case", sorted(CASES))
def test_fix_keeps_the_state_operations_with_the_planned_sql(proof: Any, case: str) -> None:
    written = written_files(proof, f"c_{case}")
    for marker in CASES[case][2]:
        assert marker in written, f"{marker!r} not in\n{written}"
    state_line = CASES[case][2][-1]  # the last marker: the state operation
    assert written.count(state_line) == 1, "the state operation is made once"


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_to_d(proof: Any, case: str) -> None:
    assert_a_to_d(proof, f"c_{case}")


@pytest.mark.parametrize("case", ["index", "check"])
def test_c_the_original_did_scan_under_a_blocking_lock(proof: Any, case: str) -> None:
    """The measure can fail: the original SeparateDatabaseAndState is caught by it."""
    assert scans_under_lock(proof["original_trace"], f"c_{case}") != []


# -- the planner's choice, without a database: a firing and a non-firing case ----------


def _state() -> Any:
    from django.db import models
    from django.db.migrations.state import ModelState, ProjectState

    state = ProjectState()
    fields = [("id", models.BigAutoField(primary_key=True)), ("name", models.TextField())]
    state.add_model(ModelState("shop", "Item", fields, {}))
    return state


def _separate(sql: str, *database: Any) -> Any:
    from django.db import migrations, models

    index = models.Index(fields=["name"], name="shop_name_idx")
    run = migrations.RunSQL(sql, reverse_sql="DROP INDEX shop_name_idx")
    return migrations.SeparateDatabaseAndState(
        state_operations=[migrations.AddIndex("item", index)],
        database_operations=list(database) or [run],
    )


def test_an_inner_blocking_runsql_is_planned_with_the_state_kept() -> None:
    from schemaops.remedy.planner import plan_operation

    op = _separate("CREATE INDEX shop_name_idx ON shop_item (name)")
    remedy = plan_operation(op, "shop", _state())
    assert remedy is not None and remedy.kind == "concurrent-index"
    (step,) = remedy.steps
    (split,) = step.operations
    assert not step.atomic
    assert [type(o).__name__ for o in split.state_operations] == ["AddIndex"]
    (run,) = split.database_operations
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS shop_name_idx" in " ".join(run.sql)


@pytest.mark.parametrize(
    "sql",
    ["CREATE INDEX CONCURRENTLY shop_name_idx ON shop_item (name)", "SELECT 1"],
    ids=["already-concurrent", "nothing-locks"],
)
def test_a_safe_inner_runsql_is_left_alone(sql: str) -> None:
    from schemaops.remedy.planner import PlanContext, plan_operation

    op = _separate(sql)
    remedy = plan_operation(op, "shop", _state(), PlanContext(atomic=False))
    assert remedy is None


def test_several_database_operations_are_not_planned() -> None:
    from django.db import migrations

    from schemaops.remedy.planner import plan_operation

    run = migrations.RunSQL("CREATE INDEX shop_name_idx ON shop_item (name)")
    op = _separate("", run, migrations.RunSQL("SELECT 1"))
    assert plan_operation(op, "shop", _state()) is None
