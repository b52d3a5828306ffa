"""Which locks a migration takes while a timeout is not set: shared by SO401 and SO402.

A migration is read in execution order. ``SET lock_timeout``, ``SET LOCAL
lock_timeout`` (only inside a transaction: in a non-atomic migration each
statement commits on its own and ``SET LOCAL`` does nothing) and
``SELECT set_config('lock_timeout', ...)`` in a ``RunSQL`` switch the
timeout on for everything after them; ``RESET``, ``SET ... TO DEFAULT`` and
a zero value switch it off. Locks come from :mod:`schemaops.checks._lockmap`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from itertools import takewhile
from typing import Any

from pglast import ast, enums

from schemaops.checks._data import not_null_proven
from schemaops.checks._lockmap import StateSchema, merge, operation_locks, statement_steps
from schemaops.columns import utc_session
from schemaops.locks import Lock
from schemaops.rules import MigrationContext, OperationContext
from schemaops.statements import AT, alter_commands, set_variable

SET = enums.VariableSetKind


@dataclass
class Exposure:
    """A lock that blocks reads or writes on an existing table, taken with no timeout set."""

    operation: OperationContext
    table: str
    lock: Lock
    slow: bool  # rewrites or scans: time grows with the table


def exposures(mctx: MigrationContext, setting: str) -> list[Exposure]:
    """Read- or write-blocking locks on existing tables taken while ``setting`` is off."""
    active, out = False, list[Exposure]()
    for op, node, claims in _events(mctx):
        change = None if node is None else timeout_change(node, setting, op.in_transaction)
        if change is not None:
            active = change
        elif not active:
            out.extend(_blocking(op, claims, mctx.new_tables))
    return out


Event = tuple[OperationContext, Any, list[Any]]  # operation, SQL node or None, lock claims
_last: tuple[MigrationContext, list[Event]] | None = None


def _events(mctx: MigrationContext) -> list[Event]:
    """Every operation (or SQL statement) with its lock claims, in execution order.

    SO401 and SO402 read the same migration one after the other: the claims of the
    last migration are kept (holding it, so its identity cannot be reused).
    """
    global _last
    if _last is not None and _last[0] is mctx:
        return _last[1]
    schema = StateSchema(
        mctx.state, mctx.target.pg_version, utc_session=utc_session(mctx.target.session)
    )
    statements: dict[int, list[Any]] = {}
    for sctx in mctx.statements:
        statements.setdefault(id(sctx.operation), []).append(sctx.node)
    events: list[Event] = []
    for op in mctx.operations:
        nodes = statements.get(id(op))
        if nodes is None:
            events.append((op, None, operation_locks(op)))
            continue
        for node in nodes:
            events.append((op, node, _statement_claims(op, node, schema, mctx.target.pg_version)))
    _last = (mctx, events)
    return events


def _statement_claims(op: OperationContext, node: Any, schema: Any, pg_version: int) -> list[Any]:
    """The statement's lock claims; a ``SET NOT NULL`` that a validated CHECK proves (no
    scan, as SO109 knows) is not slow, and a concurrent refresh claims nothing that blocks:
    its EXCLUSIVE lets reads through, and a materialized view takes no other writes."""
    if isinstance(node, ast.RefreshMatViewStmt) and node.concurrent:
        return []
    steps = statement_steps(node, schema, pg_version)
    proven: dict[str, bool] = {}  # table -> every SET NOT NULL on it proven
    for table, cmd in alter_commands(node):
        if cmd.subtype == AT.AT_SetNotNull and table is not None:
            known = not_null_proven(op, str(cmd.name), None, table)
            proven[table] = proven.get(table, True) and known
    if any(proven.values()):
        steps = [
            replace(s, slow=False) if proven.get(s.table) and s.action == "SetNotNull" else s
            for s in steps
        ]
    return merge(steps)


def _blocking(op: OperationContext, claims: Any, new_tables: set[str]) -> Iterator[Exposure]:
    for table, lock, slow in claims:
        if (lock.blocks_reads or lock.blocks_writes) and table not in new_tables:
            yield Exposure(op, table, lock, slow)


def timeout_change(node: Any, setting: str, in_transaction: bool) -> bool | None:
    """True/False when the statement switches ``setting`` on/off, None when it does not."""
    if isinstance(node, ast.VariableSetStmt):
        if node.kind == SET.VAR_RESET_ALL:
            return False
        if str(node.name or "").lower() != setting:
            return None
        if node.kind in (SET.VAR_RESET, SET.VAR_SET_DEFAULT):
            return False
        if node.is_local and not in_transaction:
            return None
        parsed = set_variable(node)
        return enables(parsed[1] if parsed else "")
    if isinstance(node, ast.SelectStmt):
        return _set_config(node, setting, in_transaction)
    return None


def _set_config(node: Any, setting: str, in_transaction: bool) -> bool | None:
    """``SELECT set_config('lock_timeout', '5s', is_local)``."""
    for target in node.targetList or ():
        call = getattr(target, "val", None)
        if not isinstance(call, ast.FuncCall):
            continue
        name = [n.sval for n in call.funcname or () if isinstance(n, ast.String)]
        args = [getattr(getattr(a, "val", None), "sval", None) for a in call.args or ()]
        if name[-1:] != ["set_config"] or len(args) != 3 or str(args[0]).lower() != setting:
            continue
        local = getattr(getattr((call.args or ())[2], "val", None), "boolval", False)
        if local and not in_transaction:
            return None
        return enables(str(args[1] or ""))
    return None


def enables(value: str) -> bool:
    """A timeout value other than zero (``0``, ``'0s'``, ``0ms`` all mean: no timeout)."""
    number = "".join(takewhile(lambda c: c.isdigit() or c == ".", value.strip()))
    try:
        return float(number) != 0
    except ValueError:
        return bool(value.strip())


def groups(found: list[Exposure]) -> list[tuple[Lock, list[str]]]:
    """Each table under its own strongest lock, strongest lock first.

    A migration that takes ACCESS EXCLUSIVE on its own table and SHARE ROW
    EXCLUSIVE on the table a new foreign key points at blocks reads on the first
    only: the claim names each lock with its own tables.
    """
    per_table: dict[str, Lock] = {}
    for e in found:
        held = per_table.get(e.table)
        if held is None or e.lock.strength > held.strength:
            per_table[e.table] = e.lock
    grouped: dict[Lock, list[str]] = {}
    for table, lock in per_table.items():
        grouped.setdefault(lock, []).append(table)
    return sorted(grouped.items(), key=lambda item: -item[0].strength)


Groups = list[tuple[Lock, list[str]]]


def claims(grouped: Groups, word: str = "on") -> str:
    """``ACCESS EXCLUSIVE on a, b and SHARE on c`` (``word`` may be ``under``)."""
    if word == "on":
        parts = [f"{lock.value} on {', '.join(names)}" for lock, names in grouped]
    else:
        parts = [f"{', '.join(names)} {word} {lock.value}" for lock, names in grouped]
    return " and ".join(parts)


def queued(grouped: Groups) -> str:
    """What queues behind the lock wait: every query where reads block, else every write."""
    reads = [t for lock, names in grouped if lock.blocks_reads for t in names]
    writes = [t for lock, names in grouped if not lock.blocks_reads for t in names]
    parts = [f"every query on {', '.join(reads)}"] if reads else []
    parts += [f"every write on {', '.join(writes)}"] if writes else []
    return " and ".join(parts)


def lock_text(grouped: Groups) -> str:
    parts = []
    for lock, names in grouped:
        quoted = ", ".join(f'"{name}"' for name in names)
        parts.append(f"{lock.value} on {quoted} (blocks {lock.blocks})")
    return "; ".join(parts)


def recipe(mctx: MigrationContext, setting: str, value: str) -> str:
    """The line that opens the migration's operations with the SET it needs."""
    local = "LOCAL " if mctx.atomic else ""
    scope = (
        "SET LOCAL lasts until the migration's transaction ends"
        if mctx.atomic
        else "non-atomic migration: SET LOCAL would do nothing, SET lasts for the connection"
    )
    return (
        f"# {mctx.app_label}/migrations/{mctx.name}.py, as the FIRST operation ({scope}):\n"
        "operations = [\n"
        f"    migrations.RunSQL(\"SET {local}{setting} = '{value}'\", "
        "reverse_sql=migrations.RunSQL.noop),\n"
        "    # ... the operations of this migration, unchanged\n"
        "]\n"
        "# Or apply migrations with `schemaops migrate`, which sets the timeouts and retries,\n"
        "# and say so in pyproject.toml: [tool.schemaops] assume-timeouts = true"
    )
