"""The static lock map: what a Django operation or an SQL statement locks.

Public API (stable, used by the lock rules, the timeout rules and ``schemaops trace``)::

    operation_locks(ctx)  -> list[(relation, Lock, rewrites_or_scans)]
    statement_locks(node) -> list[(relation, Lock, rewrites_or_scans)]
    operation_steps(ctx)  -> list[LockStep]   # the same, statement by statement, in order
    statement_steps(node) -> list[LockStep]

``relation`` is a table name, except where PostgreSQL locks an index and the
statement does not say which table it belongs to (``REINDEX INDEX i``,
``ALTER INDEX i RENAME``): then it is the index name. Renamed relations are
named as they were *before* the statement. ``Lock`` is the strongest mode
PostgreSQL 15 takes on that relation (the ALTER TABLE page and "Explicit
Locking"; ``tests/checks/test_lockmap.py`` compares every claim with the
real ``pg_locks`` of a PostgreSQL server). ``rewrites_or_scans`` is true when
the statement's time grows with the table's size: a rewrite, a full scan
(validation, SET NOT NULL), an index build, or an UPDATE/DELETE. The merged
forms keep one entry per relation: the strongest lock, any slow step.

Tables created in the same migration are *not* filtered out here; callers
decide (``ctx.new_table``, ``MigrationContext.new_tables``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from schemaops.checks._lockmap_sql import LockStep, StateSchema, statement_steps
from schemaops.columns import utc_session
from schemaops.locks import Lock

AE, SRE, SHARE, SUE = (
    Lock.ACCESS_EXCLUSIVE,
    Lock.SHARE_ROW_EXCLUSIVE,
    Lock.SHARE,
    Lock.SHARE_UPDATE_EXCLUSIVE,
)
LockClaim = tuple[str, Lock, bool]

__all__ = [
    "LockClaim",
    "LockStep",
    "StateSchema",
    "merge",
    "operation_locks",
    "operation_steps",
    "statement_locks",
    "statement_steps",
]


def merge(steps: Iterable[LockStep]) -> list[LockClaim]:
    """One claim per relation, in order of first appearance: strongest lock, any slow step."""
    out: dict[str, LockClaim] = {}
    for step in steps:
        prev = out.get(step.table)
        if prev is None:
            out[step.table] = (step.table, step.lock, step.slow)
        else:
            lock = step.lock if step.lock.strength > prev[1].strength else prev[1]
            out[step.table] = (step.table, lock, prev[2] or step.slow)
    return list(out.values())


def statement_locks(node: Any, schema: Any = None, pg_version: int = 15) -> list[LockClaim]:
    """Locks of one parsed SQL statement (a pglast node); see the module docstring.

    ``schema`` (optional, e.g. :class:`StateSchema`) answers what the SQL does
    not say: the table of an index, a column's current type, a column's
    foreign-key target. Without it, ALTER COLUMN TYPE is assumed to rewrite.
    """
    return merge(statement_steps(node, schema, pg_version))


def operation_locks(ctx: Any) -> list[LockClaim]:
    """Locks of one Django operation (an ``OperationContext``); see the module docstring.

    ``SeparateDatabaseAndState`` itself claims nothing: its database operations
    get contexts of their own. ``RunPython`` claims nothing (unknowable).
    """
    return merge(operation_steps(ctx))


def operation_steps(ctx: Any) -> list[LockStep]:
    """The statements a Django operation runs, as lock steps in execution order.

    Several rules ask about the same operation: the answer is kept on the context.
    """
    cached: list[LockStep] | None = getattr(ctx, "_lock_steps", None)
    if cached is None:
        cached = _operation_steps(ctx)
        ctx._lock_steps = cached
    return list(cached)


def _operation_steps(ctx: Any) -> list[LockStep]:
    handler = _handler(type(ctx.operation))
    if handler is not None:
        return handler(ctx)
    if ctx.step.sql:
        return _sql_steps(ctx, ["\n".join(ctx.step.sql)])
    return []


Handler = Callable[[Any], list[LockStep]]
_handlers: dict[type, Handler | None] = {}  # operation class -> its lock model


def _handler(operation_class: type) -> Handler | None:
    """The lock model of an operation class: its own, or that of the nearest base."""
    if operation_class in _handlers:
        return _handlers[operation_class]
    from schemaops.checks import _lockmap_ops

    found = None
    for cls in operation_class.__mro__:
        found = _lockmap_ops.HANDLERS.get(cls.__name__)
        if found is not None:
            break
    _handlers[operation_class] = found
    return found


def _sql_steps(ctx: Any, texts: Iterable[str]) -> list[LockStep]:
    from schemaops.plpgsql import with_do_bodies
    from schemaops.statements import SQLSyntaxError, parsed

    before = getattr(ctx, "before", None)  # the operation's model: the catalog its SQL meets
    target = ctx.migration.target
    schema = StateSchema(
        ctx.migration.state, target.pg_version, before, utc_session=utc_session(target.session)
    )
    out: list[LockStep] = []
    index = 0
    for text in texts:
        try:
            statements = parsed(text)
        except SQLSyntaxError:
            continue
        for stmt in with_do_bodies(statements):
            for step in statement_steps(stmt.node, schema, ctx.migration.target.pg_version):
                out.append(step.renumbered(index))
            index += 1
    return out
