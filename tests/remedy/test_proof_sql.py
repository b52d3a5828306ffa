"""Proof of every ``RunSQL`` remedy kind, on the real PostgreSQL (see test_proof.py).

Each case is an app of its own: the standard ``0001_initial`` of the proof
project plus the objects raw SQL makes (a materialized view with a unique
index, a partitioned table, a domain and an enum used by columns), and an
unsafe ``0002`` whose operation is one ``RunSQL``. ``schemaops fix`` rewrites
the project; the result must (a) pass ``schemaops check`` with no error, (b)
apply with ``migrate --phase pre`` then ``--phase post`` on seeded tables and
reverse to where it started, (c) under ``schemaops trace`` hold no
write-blocking lock past the 250 ms budget nor build an index or validate a
constraint under one, and (d) end in the original's schema (index names
aside) and project state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import proof_project
import pytest
from proof_support import prove, scans_under_lock, timeout_findings, written_files

from schemaops.remedy.verify import blocking_holds

# pglast's RunSQL rewrites, proven on PostgreSQL: once per CI (tests/remedy/test_proof.py proves
# the writer and every base remedy kind on both pairs).
pytestmark = pytest.mark.once

OBJECTS = """        migrations.RunSQL(
            [
                "CREATE MATERIALIZED VIEW %(app)s_mv AS SELECT id, qty FROM %(app)s_item",
                "CREATE UNIQUE INDEX %(app)s_mv_id ON %(app)s_mv (id)",
                "CREATE TABLE %(app)s_ev (id int, at date) PARTITION BY RANGE (at)",
                "CREATE TABLE %(app)s_ev_2020 PARTITION OF %(app)s_ev "
                "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')",
                "CREATE TABLE %(app)s_ev_2021 PARTITION OF %(app)s_ev "
                "FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
                "INSERT INTO %(app)s_ev SELECT g, date '2020-01-01' + g "
                "FROM generate_series(1, 600) g",
                "CREATE DOMAIN %(app)s_email AS text",
                "ALTER TABLE %(app)s_item ADD COLUMN email %(app)s_email",
                "CREATE TYPE %(app)s_status AS ENUM ('new', 'paid')",
                "ALTER TABLE %(app)s_item ADD COLUMN status %(app)s_status",
            ],
            reverse_sql=[
                "ALTER TABLE %(app)s_item DROP COLUMN status",
                "DROP TYPE %(app)s_status",
                "ALTER TABLE %(app)s_item DROP COLUMN email",
                "DROP DOMAIN %(app)s_email",
                "DROP TABLE %(app)s_ev",
                "DROP MATERIALIZED VIEW %(app)s_mv",
            ],
        ),
"""


def runsql(sql: str, reverse: str | None) -> str:
    return f"migrations.RunSQL({sql!r}, reverse_sql={reverse!r})"


# case -> (the RunSQL, the technique the planner must choose, markers in the written files)
CASES: dict[str, tuple[str, str, list[str]]] = {
    "index": (
        runsql(
            "CREATE INDEX %(app)s_name_idx ON %(app)s_item (name)", "DROP INDEX %(app)s_name_idx"
        ),
        "concurrent-index",
        ["CREATE INDEX CONCURRENTLY IF NOT EXISTS", "DROP INDEX CONCURRENTLY IF EXISTS"],
    ),
    "drop_index": (
        runsql("DROP INDEX %(app)s_qty_idx", "CREATE INDEX %(app)s_qty_idx ON %(app)s_item (qty)"),
        "concurrent-index",
        ["DROP INDEX CONCURRENTLY IF EXISTS"],
    ),
    "check": (
        runsql(
            "ALTER TABLE %(app)s_item ADD CONSTRAINT %(app)s_qty_pos CHECK (qty >= 0)",
            "ALTER TABLE %(app)s_item DROP CONSTRAINT %(app)s_qty_pos",
        ),
        "not-valid-then-validate",
        ["NOT VALID", "VALIDATE CONSTRAINT"],
    ),
    "fk": (
        runsql(
            "ALTER TABLE %(app)s_item ADD CONSTRAINT %(app)s_ref_fk FOREIGN KEY (ref_id) "
            "REFERENCES %(app)s_parent (id)",
            "ALTER TABLE %(app)s_item DROP CONSTRAINT %(app)s_ref_fk",
        ),
        "not-valid-then-validate",
        ["NOT VALID", "VALIDATE CONSTRAINT"],
    ),
    "unique": (
        runsql(
            "ALTER TABLE %(app)s_item ADD CONSTRAINT %(app)s_code_key UNIQUE (code)",
            "ALTER TABLE %(app)s_item DROP CONSTRAINT %(app)s_code_key",
        ),
        "unique-using-index",
        ["CREATE UNIQUE INDEX CONCURRENTLY", "UNIQUE USING INDEX"],
    ),
    "reindex": (
        runsql("REINDEX INDEX %(app)s_qty_idx", ""),
        "concurrently",
        ["REINDEX (CONCURRENTLY) INDEX", "atomic = False"],
    ),
    "detach": (
        runsql(
            "ALTER TABLE %(app)s_ev DETACH PARTITION %(app)s_ev_2021",
            "ALTER TABLE %(app)s_ev ATTACH PARTITION %(app)s_ev_2021 "
            "FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
        ),
        "concurrently",
        ["DETACH PARTITION c_detach_ev_2021 CONCURRENTLY", "atomic = False"],
    ),
    "refresh": (
        runsql("REFRESH MATERIALIZED VIEW %(app)s_mv", ""),
        "concurrently",
        ["REFRESH MATERIALIZED VIEW CONCURRENTLY"],
    ),
    "domain": (
        runsql(
            "ALTER DOMAIN %(app)s_email ADD CONSTRAINT %(app)s_email_at CHECK (VALUE ~ '@')",
            "ALTER DOMAIN %(app)s_email DROP CONSTRAINT %(app)s_email_at",
        ),
        "domain-constraint-not-valid",
        ["NOT VALID", "CHECK (email ~ '@') NOT VALID", "VALIDATE CONSTRAINT"],
    ),
    "enum": (
        runsql("ALTER TYPE %(app)s_status ADD VALUE 'refunded'", ""),
        "enum-value-placed",
        ["ADD VALUE IF NOT EXISTS 'refunded' AFTER 'paid'"],
    ),
    "set_not_null": (
        runsql(
            "ALTER TABLE %(app)s_item ALTER COLUMN name SET NOT NULL",
            "ALTER TABLE %(app)s_item ALTER COLUMN name DROP NOT NULL",
        ),
        "not-null-by-check",
        ["IS NOT NULL) NOT VALID", "VALIDATE CONSTRAINT", "SET NOT NULL", "AddConstraint"],
    ),
    # drops of what the models no longer use: the drop after the deploy (schemaops.remedy.drops)
    "drop_raw_column": (  # a column only raw SQL knew: relaxed (a no-op here), dropped post
        runsql(
            "ALTER TABLE %(app)s_item DROP COLUMN email",
            "ALTER TABLE %(app)s_item ADD COLUMN email %(app)s_email",
        ),
        "drop-after-deploy",
        ['deploy_phase = "post"', "DROP NOT NULL", "DROP COLUMN email"],
    ),
    "drop_field_column": (  # the RunSQL's own state drops the NOT NULL field: its default first
        "migrations.RunSQL('ALTER TABLE %(app)s_item DROP COLUMN legacy', "
        "reverse_sql=['ALTER TABLE %(app)s_item ADD COLUMN legacy varchar(20) "
        "NOT NULL DEFAULT \\'x\\'', 'ALTER TABLE %(app)s_item ALTER COLUMN legacy DROP DEFAULT'], "
        "state_operations=[migrations.RemoveField('item', 'legacy')])",
        "drop-after-deploy",
        ["ALTER COLUMN legacy SET DEFAULT 'x'", "ALTER COLUMN legacy DROP DEFAULT", "RemoveField"],
    ),
    "drop_raw_table": (
        runsql(
            "DROP TABLE %(app)s_ev",
            "CREATE TABLE %(app)s_ev (id int, at date) PARTITION BY RANGE (at); "
            "CREATE TABLE %(app)s_ev_2020 PARTITION OF %(app)s_ev "
            "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01'); "
            "CREATE TABLE %(app)s_ev_2021 PARTITION OF %(app)s_ev "
            "FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
        ),
        "drop-after-deploy",
        ['deploy_phase = "post"', "DROP TABLE c_drop_raw_table_ev"],
    ),
    "mixed": (  # an UPDATE, an index, an UPDATE: atomic parts stay atomic, in order
        runsql(
            "UPDATE %(app)s_item SET name = 'x' WHERE id < 0; "
            "CREATE INDEX %(app)s_code_idx ON %(app)s_item (code); "
            "UPDATE %(app)s_item SET name = 'y' WHERE id < 0",
            "DROP INDEX %(app)s_code_idx",
        ),
        "concurrent-index",
        ["0002_unsafe_1_expand", "0002_unsafe_2_concurrently", "CREATE INDEX CONCURRENTLY"],
    ),
}


def write(root: Path) -> list[str]:
    """The proof project with this file's cases (0001 holds the raw-SQL objects too)."""
    cases = {case: (sql, kind) for case, (sql, kind, _) in CASES.items()}
    apps = proof_project.write(root, cases)
    for app in apps:
        path = root / app / "migrations" / "0001_initial.py"
        text = path.read_text()
        head, tail = text.rsplit("    ]\n", 1)
        path.write_text(head + OBJECTS.replace("%(app)s", app) + "    ]\n" + tail)
    return apps


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    root = tmp_path_factory.mktemp("proof_sql")
    return prove(root, write(root), *proof_databases)


def _app(case: str) -> str:
    return f"c_{case}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_fix_writes_the_remedy_of_its_kind(proof: Any, case: str) -> None:
    files = proof["files"][_app(case)]
    assert "0002_unsafe" in files, "the last pre-deploy file keeps the migration's name"
    written = written_files(proof, _app(case))
    for marker in CASES[case][2]:
        assert marker.replace("%(app)s", _app(case)) in written, f"{marker!r} not in\n{written}"
    assert " at 0x" not in written


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_check_reports_no_error_on_the_result(proof: Any, case: str) -> None:
    found = [f for f in proof["findings"] if f["app"] == _app(case)]
    errors = [f"{f['code']} {f['migration']}: {f['message']}" for f in found]
    errors = [e for e, f in zip(errors, found, strict=True) if f["severity"] == "error"]
    assert errors == []
    assert timeout_findings(proof["findings"], _app(case)) == []


def _schema(proof: Any, which: str, case: str) -> dict[str, Any]:
    """The schema of one case; for ``detach``, the CHECK that ``DETACH PARTITION
    CONCURRENTLY`` leaves on the partition (PostgreSQL adds it: the former bound,
    which lets a later ATTACH skip its scan) is set aside, and must be there."""
    schema = proof[which][_app(case)]
    if case != "detach" or which in ("initial", "reference"):
        return dict(schema)
    partition = f"{_app(case)}_ev_2021"
    added = [c for c in schema["constraints"] if c[0] == partition and c[1] == "c"]
    assert len(added) == 1 and "2021-01-01" in added[0][2], schema["constraints"]
    kept = [c for c in schema["constraints"] if c not in added]
    return {**schema, "constraints": kept}


@pytest.mark.parametrize("case", sorted(CASES))
def test_b_applies_and_reverses(proof: Any, case: str) -> None:
    assert _schema(proof, "reversed", case) == _schema(proof, "initial", case)


@pytest.mark.parametrize("case", sorted(CASES))
def test_c_no_blocking_lock_past_the_budget(proof: Any, case: str) -> None:
    app = _app(case)
    mine = {"migrations": [m for m in proof["trace"]["migrations"] if m["app"] == app]}
    assert mine["migrations"], "the fixed migrations were traced"
    assert all(not m["error"] for m in mine["migrations"]), mine
    assert blocking_holds(mine) == []
    assert scans_under_lock(proof["trace"], app) == []


@pytest.mark.parametrize("case", ["index", "check", "fk", "unique", "mixed"])
def test_c_the_original_did_scan_under_a_blocking_lock(proof: Any, case: str) -> None:
    """The trace measure can fail: it catches the original migration."""
    assert scans_under_lock(proof["original_trace"], _app(case)) != []


@pytest.mark.parametrize("case", sorted(CASES))
def test_d_final_schema_and_state_equal_the_originals(proof: Any, case: str) -> None:
    app = _app(case)
    assert _schema(proof, "fixed", case) == _schema(proof, "reference", case)
    mine = {k: v for k, v in proof["state"].items() if k.startswith(f"{app}.")}
    original = {k: v for k, v in proof["original_state"].items() if k.startswith(f"{app}.")}
    assert mine == original


# -- the planner's choices, without a database (each a firing and a non-firing case) ------


def _plan(sql: Any, reverse: Any = None, *, atomic: bool = True, facts: Any = None) -> Any:
    from django.db import migrations
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import PlanContext
    from schemaops.remedy.sqlops import plan_runsql

    op = migrations.RunSQL(sql, reverse_sql=reverse)
    return plan_runsql(op, "shop", ProjectState(), PlanContext(atomic=atomic, facts=facts))


def _sql(remedy: Any) -> list[tuple[str, bool, list[str]]]:
    out = []
    for spec in remedy.steps:
        (op,) = spec.operations
        out.append((spec.role, spec.atomic, list(op.sql)))
    return out


def test_safe_statements_and_already_safe_ones_get_no_plan() -> None:
    assert _plan("UPDATE t SET a = 1 WHERE id = 2", "SELECT 1") is None
    assert _plan("CREATE INDEX CONCURRENTLY i ON t (a)", "DROP INDEX i", atomic=False) is None
    assert _plan("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID", "SELECT 1") is None
    assert _plan("CREATE TABLE n (id int); CREATE INDEX ON n (id)", "DROP TABLE n") is None
    assert _plan(42) is None  # not SQL: the rules report it, the planner has nothing to say


def test_a_runsql_mixing_both_is_split_in_order() -> None:
    remedy = _plan("UPDATE t SET a = 1; CREATE INDEX i ON t (a); UPDATE t SET a = 2", "SELECT 1")
    assert [(role, atomic) for role, atomic, _ in _sql(remedy)] == [
        ("expand", True),
        ("concurrently", False),
        ("expand", True),
    ]
    assert _sql(remedy)[1][2][-1] == "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)"
    # the user's reverse runs once, in the first file; the index file undoes its own index
    first, second, third = (spec.operations[0].reverse_sql for spec in remedy.steps)
    assert first == ["SELECT 1"] and second == ["DROP INDEX CONCURRENTLY IF EXISTS i"]
    assert third == ""  # RunSQL.noop: nothing of its own to undo


def test_a_flat_do_block_is_rewritten_and_one_with_logic_is_kept() -> None:
    flat = _plan("DO $$ BEGIN CREATE INDEX i ON t (a); END $$", "DROP INDEX i")
    assert _sql(flat)[0][2][-1] == "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)"
    logic = "DO $$ BEGIN IF true THEN CREATE INDEX i ON t (a); END IF; END $$"
    assert _plan(logic, "DROP INDEX i") is None


def test_refresh_is_concurrent_only_with_a_unique_index_on_the_view() -> None:
    from schemaops.remedy.sqlops import SqlFacts

    facts = SqlFacts()
    facts.record_node(parse_one("CREATE UNIQUE INDEX v_id ON v (id)"))
    assert _sql(_plan("REFRESH MATERIALIZED VIEW v", "", facts=facts))[0][2] == [
        "REFRESH MATERIALIZED VIEW CONCURRENTLY v"
    ]
    advice = _plan("REFRESH MATERIALIZED VIEW v", "")
    assert advice.kind == "advice" and not advice.steps
    partial = SqlFacts()
    partial.record_node(parse_one("CREATE UNIQUE INDEX v_id ON v (id) WHERE id > 0"))
    assert _plan("REFRESH MATERIALIZED VIEW v", "", facts=partial).kind == "advice"


def test_on_only_the_partitioned_parent_is_kept_and_a_plain_index_is_split() -> None:
    from schemaops.remedy.sqlops import SqlFacts

    facts = SqlFacts()
    facts.record_node(parse_one("CREATE TABLE ev (at date) PARTITION BY RANGE (at)"))
    facts.record_node(parse_one("CREATE TABLE ev_1 PARTITION OF ev DEFAULT"))
    assert _plan("CREATE INDEX i ON ONLY ev (at)", "DROP INDEX i", facts=facts) is None
    split = _sql(_plan("CREATE INDEX i ON ev (at)", "DROP INDEX i", facts=facts))
    assert split[0][2] == [
        "CREATE INDEX IF NOT EXISTS i ON ONLY ev (at)",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS ev_1_i ON ev_1 (at)",
        "ALTER INDEX i ATTACH PARTITION ev_1_i",
    ]


def test_a_validate_after_an_earlier_not_valid_add_moves_to_a_migration_of_its_own() -> None:
    from schemaops.remedy.sqlops import SqlFacts

    facts = SqlFacts()
    facts.record_node(parse_one("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID"))
    moved = _plan("ALTER TABLE t VALIDATE CONSTRAINT c", "", facts=facts)
    assert _sql(moved) == [("validate", True, ["ALTER TABLE t VALIDATE CONSTRAINT c"])]
    facts.start_migration()  # added by an earlier migration: validating here is the safe way
    assert _plan("ALTER TABLE t VALIDATE CONSTRAINT c", "", facts=facts) is None


def test_a_missing_reverse_is_written_only_when_every_statement_has_one() -> None:
    written = _plan("CREATE TABLE n (id int); ALTER TABLE n2 ADD COLUMN c int")
    assert written.kind == "reverse-sql-written"
    assert written.steps[0].operations[0].reverse_sql == [
        "ALTER TABLE n2 DROP COLUMN IF EXISTS c",
        "DROP TABLE IF EXISTS n",
    ]
    assert _plan("CREATE TABLE n (id int); UPDATE n2 SET c = 1") is None


def test_transaction_control_goes_only_in_an_atomic_migration() -> None:
    assert _sql(_plan("BEGIN; UPDATE t SET a = 1; COMMIT", "SELECT 1"))[0][2] == [
        "UPDATE t SET a = 1"
    ]
    assert _plan("BEGIN; UPDATE t SET a = 1; COMMIT", "SELECT 1", atomic=False) is None


def parse_one(sql: str) -> Any:
    from schemaops.statements import parse

    return parse(sql)[0].node
