"""The lock_timeout the planner's files set themselves (schemaops.remedy.timeouts).

The proofs (test_proof*.py) show the gate accepts every written file without
``assume-timeouts``; here: where the SET goes, and, on PostgreSQL, that a
``CONCURRENTLY`` build in a non-atomic file does not run under it (an old
snapshot elsewhere would otherwise cancel it).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg2
from django.db import migrations, models

from schemaops.remedy.timeouts import RESET, toggled, with_lock_timeout

ON = "SET lock_timeout = '5s'"
LOCAL = "SET LOCAL lock_timeout = '5s'"
ADD = "ALTER TABLE t ADD COLUMN a integer NULL"
NOT_VALID = "ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID"
BUILD = "CREATE INDEX CONCURRENTLY IF NOT EXISTS t_a ON t (a)"


def test_plain_statements_get_the_timeout_and_concurrently_ones_do_not() -> None:
    statements = [ADD, BUILD, NOT_VALID]
    assert toggled(statements, "5s") == [ON, ADD, RESET, BUILD, ON, NOT_VALID, RESET]
    assert toggled([BUILD], "5s") == [BUILD]


def test_the_planners_own_text_is_toggled_as_its_parse_would_be() -> None:
    """Statements the planner printed are known without parsing them again; the
    answer is the one their parse gives."""
    from schemaops.remedy.transform import deparse, printed_outside_transaction
    from schemaops.statements import parse

    build, add = (deparse(parse(text)[0].node) for text in (BUILD.replace("t_a", "t_b"), ADD))
    assert (printed_outside_transaction(build), printed_outside_transaction(add)) == (True, False)
    assert printed_outside_transaction("DROP INDEX CONCURRENTLY never_printed") is None
    assert toggled([add, build, add], "5s") == [ON, add, RESET, build, ON, add, RESET]


def test_an_atomic_file_opens_with_set_local_and_its_reverse_closes_with_it() -> None:
    add = migrations.AddField("order", "note", models.TextField(null=True))
    first, kept, last = with_lock_timeout([add], "5s", atomic=True)
    assert (first.sql, first.reverse_sql, kept) == (LOCAL, "", add)
    assert (last.sql, last.reverse_sql) == ("", LOCAL)


def test_a_state_only_file_is_left_alone() -> None:
    rename = migrations.SeparateDatabaseAndState(
        state_operations=[migrations.RenameField("order", "code", "reference")]
    )
    assert with_lock_timeout([rename], "5s", atomic=True) == [rename]
    assert with_lock_timeout([rename], "5s", atomic=False) == [rename]


def test_non_atomic_sql_is_bracketed_both_ways_and_kept_operations_are_not_edited() -> None:
    sql = migrations.RunSQL([ADD, BUILD], ["DROP INDEX CONCURRENTLY t_a", "ALTER TABLE t DROP a"])
    (written,) = with_lock_timeout(
        [migrations.SeparateDatabaseAndState(database_operations=[sql])], "5s", atomic=False
    )
    (inner,) = written.database_operations
    assert inner.sql == [ON, ADD, RESET, BUILD]
    assert inner.reverse_sql == ["DROP INDEX CONCURRENTLY t_a", ON, "ALTER TABLE t DROP a", RESET]
    kept = migrations.RunSQL(ADD, "ALTER TABLE t DROP a")
    on, same, off = with_lock_timeout([kept], "5s", atomic=False, rewrite_sql=False)
    assert same is kept
    assert (on.sql, on.reverse_sql, off.sql, off.reverse_sql) == (ON, RESET, RESET, ON)


def _run_while_an_old_snapshot_lives(params: dict[str, Any], statements: list[str]) -> str:
    """Run ``statements`` (autocommit, as a non-atomic migration does) while another
    session holds a snapshot on an unrelated table for 1.5 s; "built" or the error."""
    setup = psycopg2.connect(**params)
    setup.autocommit = True
    setup.cursor().execute("CREATE TABLE t (id integer); CREATE TABLE other (id integer)")
    setup.close()
    reader = psycopg2.connect(**params)
    cur = reader.cursor()
    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    cur.execute("SELECT count(*) FROM other")  # the snapshot a concurrent build waits for
    ends = threading.Timer(1.5, reader.rollback)
    ends.start()
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    try:
        with conn.cursor() as run:
            run.execute("SET lock_timeout = '300ms'")  # what a session SET would leave on
            for statement in statements:
                run.execute(statement.replace("'5s'", "'300ms'"))
        return "built"
    except psycopg2.errors.LockNotAvailable as exc:
        return str(exc).splitlines()[0]
    finally:
        ends.join()
        reader.close()
        conn.close()


def test_a_concurrent_build_waits_out_an_old_snapshot_instead_of_failing(scratch_db: Any) -> None:
    started = time.monotonic()
    assert _run_while_an_old_snapshot_lives(scratch_db, toggled([ADD, BUILD], "5s")) == "built"
    assert time.monotonic() - started >= 1.0, "the build waited for the snapshot"


def test_under_the_timeout_the_same_build_is_cancelled(scratch_db: Any) -> None:
    """The measure can fail: kept on, lock_timeout cancels the build's snapshot wait."""
    outcome = _run_while_an_old_snapshot_lives(scratch_db, [ON, ADD, BUILD])
    assert outcome == "canceling statement due to lock timeout"
