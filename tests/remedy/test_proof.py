"""Proof of every remedy kind, on the real PostgreSQL.

One project holds every case as an app of its own (``proof_project.CASES``).
The original migrations are applied to a reference database; ``schemaops fix``
rewrites the project, and the result must (a) pass ``schemaops check`` with no
error and, without ``assume-timeouts``, no SO401/SO402 (its files set
lock_timeout), (b) apply with ``schemaops migrate --phase pre`` then ``--phase
post`` on a seeded database and reverse to where it started, (c) under ``schemaops trace``
on seeded tables hold no write-blocking lock past the 250 ms budget, nor build
an index or validate a constraint under such a lock, and (d) end in the schema
(index names aside) and the project state the original migrations make.
"""

from __future__ import annotations

from typing import Any

import proof_project
import pytest
from proof_support import prove, scans_under_lock, timeout_findings

from schemaops.remedy.verify import blocking_holds

CASES = sorted(proof_project.CASES)
MARKERS = {
    "concurrent-index": ["CONCURRENTLY", "atomic = False"],
    "not-valid-then-validate": ["NOT VALID", "VALIDATE CONSTRAINT"],
    "unique-using-index": ["CREATE UNIQUE INDEX CONCURRENTLY", "UNIQUE USING INDEX"],
    "not-null-by-check": ["IS NOT NULL) NOT VALID", "VALIDATE CONSTRAINT", "SET NOT NULL"],
    "db-default-until-deployed": ['deploy_phase = "post"', "DROP DEFAULT"],
    "expand-contract": ["SeparateDatabaseAndState", 'deploy_phase = "post"'],
}


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    root = tmp_path_factory.mktemp("proof")
    return prove(root, proof_project.write(root), *proof_databases)


def _app(case: str) -> str:
    return f"c_{case}"


@pytest.mark.parametrize("case", CASES)
def test_fix_writes_the_remedy_of_its_kind(proof: Any, case: str) -> None:
    files = proof["files"][_app(case)]
    assert "0002_unsafe" in files, "the last pre-deploy file keeps the migration's name"
    written = "\n".join(text for name, text in files.items() if name != "0001_initial")
    kind = proof_project.CASES[case][1]
    for technique in kind.split("+"):
        for marker in MARKERS[technique]:
            assert marker in written, f"{case}: {marker!r} missing from\n{written}"
    assert " at 0x" not in written


def test_swappable_dependency_is_kept(proof: Any) -> None:
    files = proof["files"][_app("add_fk_user")]
    written = "\n".join(files.values())
    assert "migrations.swappable_dependency(settings.AUTH_USER_MODEL)" in written
    assert "('auth'," not in written


@pytest.mark.parametrize("case", CASES)
def test_a_check_reports_no_error_on_the_result(proof: Any, case: str) -> None:
    errors = [f for f in proof["findings"] if f["app"] == _app(case) and f["severity"] == "error"]
    assert errors == []
    assert timeout_findings(proof["findings"], _app(case)) == []


@pytest.mark.parametrize("case", CASES)
def test_b_applies_and_reverses(proof: Any, case: str) -> None:
    app = _app(case)
    assert proof["reversed"][app] == proof["initial"][app]
    assert proof["fixed"][app] != proof["initial"][app]


@pytest.mark.parametrize("case", CASES)
def test_c_no_blocking_lock_past_the_budget(proof: Any, case: str) -> None:
    app = _app(case)
    mine = {"migrations": [m for m in proof["trace"]["migrations"] if m["app"] == app]}
    assert mine["migrations"], "the fixed migrations were traced"
    assert all(not m["error"] for m in mine["migrations"])
    assert blocking_holds(mine) == []
    assert scans_under_lock(proof["trace"], app) == []


# DROP INDEX scans nothing (its lock is the hazard), so remove_index is not among these
LOCKING_CASES = [
    c
    for c in CASES
    if c != "remove_index"
    and {"concurrent-index", "not-valid-then-validate", "unique-using-index"}
    & set(proof_project.CASES[c][1].split("+"))
]


@pytest.mark.parametrize("case", LOCKING_CASES)
def test_c_the_original_did_scan_under_a_blocking_lock(proof: Any, case: str) -> None:
    """The trace measure can fail: it catches the original migration."""
    assert scans_under_lock(proof["original_trace"], _app(case)) != []


@pytest.mark.parametrize("case", CASES)
def test_d_final_schema_and_state_equal_the_originals(proof: Any, case: str) -> None:
    app = _app(case)
    assert proof["fixed"][app] == proof["reference"][app]
    mine = {k: v for k, v in proof["state"].items() if k.startswith(f"{app}.")}
    original = {k: v for k, v in proof["original_state"].items() if k.startswith(f"{app}.")}
    assert mine == original
