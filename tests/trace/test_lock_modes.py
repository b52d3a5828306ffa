"""Traced locks against PostgreSQL's documented lock modes (PostgreSQL 15 manual,
"Explicit Locking" 13.3.1, and the ALTER TABLE / CREATE INDEX reference pages)."""

from __future__ import annotations

import pytest
from trace_support import modes_on, one, run_setup, strongest, trace_statements

ACCESS_EXCLUSIVE = "AccessExclusiveLock"
SHARE = "ShareLock"
SHARE_UPDATE_EXCLUSIVE = "ShareUpdateExclusiveLock"
SHARE_ROW_EXCLUSIVE = "ShareRowExclusiveLock"


def test_add_nullable_column_takes_access_exclusive_without_rewrite(table_db):
    s = one(trace_statements(table_db, ["ALTER TABLE t ADD COLUMN extra integer"]))
    assert modes_on(s, "t") == {ACCESS_EXCLUSIVE}
    assert s.rewrites == []
    assert s.changes.columns == ["added t.extra integer"]


def test_add_column_with_volatile_default_rewrites(table_db):
    s = one(trace_statements(table_db, ["ALTER TABLE t ADD COLUMN r float8 DEFAULT random()"]))
    assert strongest(s, "t") == ACCESS_EXCLUSIVE  # (plus SHARE: the indexes are rebuilt)
    assert "t" in s.rewrites


def test_create_index_takes_share(table_db):
    s = one(trace_statements(table_db, ["CREATE INDEX t_n_idx ON t (n)"]))
    assert modes_on(s, "t") == {SHARE}
    assert "index t_n_idx" in s.changes.created
    assert s.in_transaction and not s.sampled


def test_create_index_concurrently_takes_share_update_exclusive(table_db):
    traces = trace_statements(
        table_db, ["CREATE INDEX CONCURRENTLY t_n_idx ON t (n)"], atomic=False
    )
    s = one(traces)
    assert s.sampled and not s.in_transaction
    assert SHARE_UPDATE_EXCLUSIVE in modes_on(s, "t")
    assert SHARE not in modes_on(s, "t") and ACCESS_EXCLUSIVE not in modes_on(s, "t")


def test_check_constraint_not_valid_takes_access_exclusive_and_stays_unvalidated(table_db):
    s = one(
        trace_statements(table_db, ["ALTER TABLE t ADD CONSTRAINT n_pos CHECK (n > 0) NOT VALID"])
    )
    assert modes_on(s, "t") == {ACCESS_EXCLUSIVE}
    assert s.changes.constraints == ["added n_pos on t: CHECK ((n > 0)) NOT VALID (NOT VALID)"]


def test_foreign_key_not_valid_takes_share_row_exclusive_on_both_tables(table_db):
    s = one(
        trace_statements(
            table_db,
            [
                "ALTER TABLE t ADD CONSTRAINT t_parent_fk FOREIGN KEY (parent_id) "
                "REFERENCES parent (id) NOT VALID"
            ],
        )
    )
    assert strongest(s, "t") == SHARE_ROW_EXCLUSIVE
    assert strongest(s, "parent") == SHARE_ROW_EXCLUSIVE


def test_validate_constraint_takes_share_update_exclusive(table_db):
    run_setup(table_db, ["ALTER TABLE t ADD CONSTRAINT n_pos CHECK (n > 0) NOT VALID"])
    s = one(trace_statements(table_db, ["ALTER TABLE t VALIDATE CONSTRAINT n_pos"]))
    assert modes_on(s, "t") == {SHARE_UPDATE_EXCLUSIVE}
    assert s.changes.constraints == ["validated n_pos on t"]
    assert s.rewrites == []


def test_validate_foreign_key_takes_row_share_on_the_referenced_table(table_db):
    run_setup(
        table_db,
        [
            "ALTER TABLE t ADD CONSTRAINT t_parent_fk FOREIGN KEY (parent_id) "
            "REFERENCES parent (id) NOT VALID"
        ],
    )
    s = one(trace_statements(table_db, ["ALTER TABLE t VALIDATE CONSTRAINT t_parent_fk"]))
    assert strongest(s, "t") == SHARE_UPDATE_EXCLUSIVE
    assert strongest(s, "parent") == "RowShareLock"


def test_set_not_null_takes_access_exclusive_scans_without_rewrite(table_db):
    s = one(trace_statements(table_db, ["ALTER TABLE t ALTER COLUMN n SET NOT NULL"]))
    assert modes_on(s, "t") == {ACCESS_EXCLUSIVE}
    assert s.changes.columns == ["t.n: SET NOT NULL"]
    assert s.rewrites == []


@pytest.mark.parametrize(
    ("statement", "rewrite"),
    [
        ("ALTER TABLE t ALTER COLUMN name TYPE varchar(40)", False),  # binary coercible
        ("ALTER TABLE t ALTER COLUMN note TYPE varchar", False),  # text -> unlimited varchar
        ("ALTER TABLE t ALTER COLUMN n TYPE bigint", True),
        ("ALTER TABLE t ALTER COLUMN name TYPE varchar(10)", True),  # shrinking checks/rewrites
    ],
)
def test_alter_type_takes_access_exclusive_and_rewrites_only_when_needed(
    table_db, statement, rewrite
):
    s = one(trace_statements(table_db, [statement]))
    assert strongest(s, "t") == ACCESS_EXCLUSIVE
    assert ("t" in s.rewrites) is rewrite
    assert any(c.startswith("type of t.") for c in s.changes.columns)


def test_non_atomic_statements_run_in_their_own_transaction_and_are_seen(table_db):
    traces = trace_statements(
        table_db,
        ["ALTER TABLE t ADD COLUMN extra integer", "CREATE INDEX t_extra_idx ON t (extra)"],
        atomic=False,
    )
    assert [modes_on(s, "t") for s in traces] == [{ACCESS_EXCLUSIVE}, {SHARE}]
    assert not any(s.in_transaction or s.sampled for s in traces)


def test_later_statements_report_only_the_locks_they_add(table_db):
    traces = trace_statements(
        table_db, ["CREATE INDEX t_n_idx ON t (n)", "ALTER TABLE t ADD COLUMN extra integer"]
    )
    assert modes_on(traces[0], "t") == {SHARE}
    assert modes_on(traces[1], "t") == {ACCESS_EXCLUSIVE}
