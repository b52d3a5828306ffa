"""``SeparateDatabaseAndState`` whose database work is a ``RunSQL``: planned as that RunSQL.

A project writes ``SeparateDatabaseAndState(state_operations=[AddIndex(...)],
database_operations=[RunSQL("CREATE INDEX ...")])`` to say in SQL what the
state says in Django's terms. The SQL locks exactly as a top-level ``RunSQL``
would, so its remedy is the one :mod:`schemaops.remedy.sqlops` plans for that
``RunSQL`` (CONCURRENTLY in a non-atomic migration, NOT VALID then VALIDATE,
...); the state operations are kept, once, in the remedy's first migration,
where the original made them (the statements' own state, such as the CHECK
proving a SET NOT NULL, joins them: inside ``database_operations`` a
``RunSQL``'s ``state_operations`` would be applied to a throwaway state).

Planned only when the database work is exactly one ``RunSQL`` and its remedy
writes migrations; anything else (several database operations, a remedy that
moves the work out of the migration, advice) keeps the planner's answer for
the operation as it was: advice, or none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from schemaops.remedy.code import django_kind

if TYPE_CHECKING:
    from django.db.migrations.operations.base import Operation

    from schemaops.remedy.planner import Remedy

SEPARATE = "SeparateDatabaseAndState"


def plan_separate(op: Any, plan_inner: Callable[[Operation], Remedy | None]) -> Remedy | None:
    """The remedy of a ``SeparateDatabaseAndState`` ``op``: its one database ``RunSQL``
    planned by ``plan_inner`` (the planner's dispatch, on the state before ``op``),
    with ``op``'s state operations kept in the first migration. None: not that shape,
    or the RunSQL needs no remedy; an advice remedy of the RunSQL is returned as is."""
    inner = _one_runsql(op)
    if inner is None:
        return None
    remedy = plan_inner(inner)
    if remedy is None or remedy.advice:
        return remedy
    if not remedy.steps or not remedy.steps[0].operations:
        return None  # the work leaves the migration: the state would have no place
    first = remedy.steps[0]
    kept = _with_state(first.operations[0], list(op.state_operations))
    if kept is None:
        return None
    first.operations[0] = kept
    remedy.summary = f"the database operation of {SEPARATE}: {remedy.summary}"
    return remedy


def _one_runsql(op: Any) -> Any:
    database = list(getattr(op, "database_operations", None) or ())
    if len(database) != 1 or django_kind(database[0]) != "RunSQL":
        return None
    return database[0]


def _with_state(first: Any, state_ops: list[Any]) -> Any:
    """``first`` (the remedy's first operation) run with ``state_ops`` made before its own
    state: a ``RunSQL`` becomes the database half of a ``SeparateDatabaseAndState``, its
    ``state_operations`` moved to the state half (None: another kind of operation)."""
    from django.db import migrations

    if not state_ops:
        return first
    if django_kind(first) == "RunSQL":
        own = list(first.state_operations or ())
        run = migrations.RunSQL(
            first.sql, reverse_sql=first.reverse_sql, hints=first.hints, elidable=first.elidable
        )
        return migrations.SeparateDatabaseAndState(
            state_operations=[*state_ops, *own], database_operations=[run]
        )
    if django_kind(first) == SEPARATE:
        return migrations.SeparateDatabaseAndState(
            state_operations=[*state_ops, *first.state_operations],
            database_operations=list(first.database_operations),
        )
    return None  # a remedy of another shape (a fill's): not planned here
