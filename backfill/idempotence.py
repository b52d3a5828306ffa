"""Whether a ``--set`` can run twice on a row without harm, read from its parse tree.

A batch runs again after a crash rolled it back, and the final sweep re-evaluates
the expression to find rows still wrong. Both assume that applying the update to a
row that already has it changes nothing. That fails when an expression reads the
column it sets (``c = c + 1``) or calls a volatile function (``clock_timestamp()``,
``random()``, ``nextval(...)``): the row is never "already right".

Such an update is accepted only when the ``--where`` names a column it sets (the
operator's promise that an updated row no longer matches, e.g. ``--where "c IS
NULL"``), or with ``--non-idempotent``: then each row is updated exactly once by
the ledger alone (rows and checkpoint commit together) and the sweep counts the
rows no done batch covers instead of re-evaluating the expression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pglast
from django.db import connections
from pglast import visitors

from schemaops.backfill.spec import Spec, column_names
from schemaops.errors import ConfigError

# Volatility of the named functions, from the server: every overload that is visible
# under the search path (or in the given schema).
VOLATILE_SQL = """
SELECT DISTINCT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.provolatile = 'v' AND p.proname = ANY(%s)
  AND (n.nspname = ANY(%s) OR pg_function_is_visible(p.oid))
"""


@dataclass(frozen=True)
class Reads:
    """What one expression reads: plain column names and the functions it calls
    (``(schema or None, name)``)."""

    columns: frozenset[str]
    functions: frozenset[tuple[str | None, str]]


class _Collector(visitors.Visitor):  # type: ignore[misc]
    def __init__(self) -> None:
        self.columns: set[str] = set()
        self.functions: set[tuple[str | None, str]] = set()

    def visit_ColumnRef(self, ancestors: Any, node: Any) -> None:
        names = [getattr(f, "sval", None) for f in node.fields]
        if names and names[-1]:
            self.columns.add(names[-1])  # t.c and c alike

    def visit_FuncCall(self, ancestors: Any, node: Any) -> None:
        names = [n.sval for n in node.funcname]
        self.functions.add((names[0] if len(names) > 1 else None, names[-1]))


def reads(expression: str) -> Reads:
    """Columns and functions of a SQL expression (already normalized by pglast)."""
    tree = pglast.parse_sql(f"SELECT {expression}")[0].stmt
    assert tree is not None  # a SELECT always parses to a statement
    collector = _Collector()
    collector(tree)
    return Reads(frozenset(collector.columns), frozenset(collector.functions))


def predicate_columns(predicate: str) -> frozenset[str]:
    return reads(predicate).columns if predicate else frozenset()


def volatile_functions(cursor: Any, functions: frozenset[tuple[str | None, str]]) -> list[str]:
    """The names among ``functions`` that the server marks volatile (pg_proc.provolatile)."""
    if not functions:
        return []
    names = sorted({name for _, name in functions})
    schemas = sorted({schema for schema, _ in functions if schema})
    cursor.execute(VOLATILE_SQL, [names, schemas])
    return sorted(str(name) for (name,) in cursor.fetchall())


def problems(
    assignments: tuple[tuple[str, str], ...], cursor: Any, aliases: dict[str, str]
) -> list[str]:
    """Why running these assignments twice would change a row: one phrase per cause.
    ``aliases`` maps field names and column names to columns."""
    found = []
    for column, expression in assignments:
        read = reads(expression)
        if column in {aliases.get(name, name) for name in read.columns}:
            found.append(f"{column} = {expression} reads the column it sets")
        volatile = volatile_functions(cursor, read.functions)
        if volatile:
            found.append(f"{column} = {expression} calls volatile {', '.join(volatile)}()")
    return found


def is_self_limiting(
    assignments: tuple[tuple[str, str], ...], where: str, aliases: dict[str, str]
) -> bool:
    """Whether the ``--where`` names a column the update sets (an updated row is then
    meant to fall out of it)."""
    set_columns = {column for column, _ in assignments}
    return any(aliases.get(name, name) in set_columns for name in predicate_columns(where))


def refuse_unsafe(spec: Spec, alias: str) -> None:
    """Raise ConfigError (one line) for a ``--set`` that is not safe to run twice, unless
    its ``--where`` limits it or it was started with ``--non-idempotent``."""
    if spec.kind != "sql" or spec.non_idempotent:
        return
    aliases = column_names(spec.target)
    if is_self_limiting(spec.assignments, spec.where, aliases):
        return
    with connections[alias].cursor() as cursor:
        found = problems(spec.assignments, cursor, aliases)
    if found:
        raise ConfigError(
            f"--set {'; '.join(found)}: a batch run again after a crash would apply it twice,"
            " and the final sweep could not tell an updated row; add a --where that an updated"
            " row no longer matches (on a column it sets), or pass --non-idempotent (each row"
            " updated exactly once through the batch ledger)"
        )
