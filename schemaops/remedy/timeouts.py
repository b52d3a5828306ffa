"""The ``lock_timeout`` every migration the planner writes sets for itself.

A DDL statement that waits for its lock makes every later query on the table
queue behind it (SO401); the files ``schemaops fix`` writes therefore bound
that wait themselves, as SO401's recipe says, and pass the gate without
``assume-timeouts``, also when applied with plain ``manage.py migrate``:

- an atomic migration opens with ``SET LOCAL lock_timeout`` (it lasts until the
  migration's transaction ends) and closes with an operation whose reverse sets
  it again, so the rollback, which runs the operations backwards, is bounded too;
- in an ``atomic = False`` migration every statement commits on its own and
  ``SET LOCAL`` does nothing, so the timeout is a session ``SET``, switched on
  just before the statements that take their locks plainly and ``RESET`` before
  each ``CONCURRENTLY`` statement and at the end (the session's own setting is
  back, nothing leaks into the migrations after it).

``CONCURRENTLY`` runs without it on purpose: a concurrent build or drop holds
SHARE UPDATE EXCLUSIVE, which blocks no read or write, and then waits for every
transaction that could still see the table (older snapshots anywhere in the
database, not only on that table). A ``lock_timeout`` cancels those waits
(``canceling statement due to lock timeout``, leaving an INVALID index behind):
a failure caused by an unrelated long transaction, protecting nobody.
``statement_timeout`` is not set: the planner's slow steps (concurrent builds,
``VALIDATE``, batched fills) hold no blocking lock, and it would only cut them off.
"""

from __future__ import annotations

import functools
from typing import Any

from schemaops.remedy.transform import printed_outside_transaction, runs_outside_transaction
from schemaops.statements import SQLSyntaxError, parse, runsql_texts

SETTING = "lock_timeout"
RESET = f"RESET {SETTING}"
# operation classes that run CONCURRENTLY (django.contrib.postgres)
CONCURRENT_OPERATIONS = ("AddIndexConcurrently", "RemoveIndexConcurrently")


def set_statement(value: str, *, local: bool) -> str:
    """``SET [LOCAL] lock_timeout = '<value>'`` (``value``: a duration PostgreSQL reads)."""
    quoted = "'" + value.replace("'", "''") + "'"
    return f"SET {'LOCAL ' if local else ''}{SETTING} = {quoted}"


def with_lock_timeout(
    operations: list[Any], value: str, *, atomic: bool, rewrite_sql: bool = True
) -> list[Any]:
    """``operations`` with the ``lock_timeout`` they need (see the module docstring).

    Operations without database work (state only) are returned as they are.
    ``rewrite_sql`` False: the operations are the user's own, kept (their SQL is not
    edited; in a non-atomic migration each is bracketed by a SET and a RESET instead).
    """
    if not any(_database_work(op) for op in operations):
        return operations
    if atomic:
        first, last = _atomic_bounds(value)
        return [first, *operations, last]
    out: list[Any] = []
    for op in operations:
        out.extend(_session_bounded(op, value, rewrite_sql))
    return out


def _database_work(op: Any) -> bool:
    from django.db import migrations

    if isinstance(op, migrations.SeparateDatabaseAndState):
        return any(_database_work(o) for o in op.database_operations)
    if isinstance(op, migrations.RunSQL):
        return next(runsql_texts(op.sql), None) is not None
    return bool(getattr(op, "reduces_to_sql", True)) or isinstance(op, migrations.RunPython)


def _session_bounded(op: Any, value: str, rewrite_sql: bool) -> list[Any]:
    """``op`` in a non-atomic migration: the timeout on around what it runs plainly."""
    from django.db import migrations

    if isinstance(op, migrations.SeparateDatabaseAndState):
        inner = [o for d in op.database_operations for o in _session_bounded(d, value, rewrite_sql)]
        return [
            migrations.SeparateDatabaseAndState(
                state_operations=op.state_operations, database_operations=inner
            )
        ]
    if not _database_work(op) or type(op).__name__ in CONCURRENT_OPERATIONS:
        return [op]
    if isinstance(op, migrations.RunSQL) and rewrite_sql and _plain_strings(op):
        forwards: list[Any] = toggled(list(runsql_texts(op.sql)), value)
        backwards: Any = op.reverse_sql
        if backwards not in (None, migrations.RunSQL.noop):
            backwards = toggled(list(runsql_texts(backwards)), value)
        return [
            migrations.RunSQL(
                forwards,
                reverse_sql=backwards,
                state_operations=op.state_operations,
                hints=op.hints,
                elidable=op.elidable,
            )
        ]
    if isinstance(op, migrations.RunSQL) and all(_concurrent(t) for t in runsql_texts(op.sql)):
        return [op]
    first, last = _session_bounds(value)
    return [first, op, last]


# The operations around an atomic file's (and a kept operation's) own: the same two
# objects for every file of a value, never changed, so a run serializes them once
# (see schemaops.remedy.writer.WrittenParts).


@functools.lru_cache(maxsize=16)
def _atomic_bounds(value: str) -> tuple[Any, Any]:
    """``SET LOCAL`` first, and last an operation whose reverse sets it again."""
    from django.db import migrations

    on = set_statement(value, local=True)
    return (
        migrations.RunSQL(on, reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL(migrations.RunSQL.noop, reverse_sql=on),
    )


@functools.lru_cache(maxsize=16)
def _session_bounds(value: str) -> tuple[Any, Any]:
    """A session ``SET`` before a kept operation of a non-atomic file, ``RESET`` after it."""
    from django.db import migrations

    on = set_statement(value, local=False)
    return (
        migrations.RunSQL(on, reverse_sql=RESET),
        migrations.RunSQL(RESET, reverse_sql=on),
    )


def _plain_strings(op: Any) -> bool:
    """The RunSQL's SQL is strings only (no ``(sql, params)`` pairs to keep as written)."""
    sqls = (op.sql, op.reverse_sql or "")
    return all(isinstance(sql, str) or all(isinstance(s, str) for s in sql) for sql in sqls)


def toggled(statements: list[str], value: str) -> list[str]:
    """``statements`` of a non-atomic migration with ``SET lock_timeout`` before the ones
    that take their locks plainly, ``RESET`` before each ``CONCURRENTLY`` one that follows
    them, and ``RESET`` at the end when it is still on: self-contained, whatever ran before."""
    on, out = False, []
    for text in statements:
        concurrent = _concurrent(text)
        if concurrent == on:  # the timeout is in the wrong state for this statement
            out.append(RESET if on else set_statement(value, local=False))
            on = not on
        out.append(text)
    if on:
        out.append(RESET)
    return out


def _concurrent(text: str) -> bool:
    """Every statement of ``text`` runs ``CONCURRENTLY`` (only outside a transaction);
    unparsable text counts as plain (the timeout stays on)."""
    known = printed_outside_transaction(text)
    if known is not None:  # the planner's own text: known from the node it printed
        return known
    try:
        statements = parse(text)
    except SQLSyntaxError:
        return False
    return bool(statements) and all(runs_outside_transaction(s.node) for s in statements)
