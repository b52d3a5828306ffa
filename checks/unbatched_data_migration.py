"""SO305 unbatched-data-migration: a whole table is rewritten in one transaction.

## What it does
Flags data changes over a whole existing table inside a migration:
``UPDATE``/``DELETE`` in ``RunSQL`` whose ``WHERE`` is missing or not bounded
by a key range (``id BETWEEN ...``, ``id = ...``, ``id IN (...)``, or both a
lower and an upper bound on ``id``), and ``RunPython`` running in a
transaction whose function calls ``update``/``bulk_update``/``delete``, or
``save``/``bulk_create`` in a loop (read from its code objects).

## Why is this bad?
A migration's data change is one transaction: every row it touches stays
locked until the end (concurrent writes to those rows wait), the old row
versions cannot be vacuumed, replicas fall behind, and on a large table it
runs for minutes inside the deploy. If it fails, all of it rolls back and
the deploy with it.

## Example
```python
def fill_total_cents(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.update(total_cents=F("total") * 100)

operations = [migrations.RunPython(fill_total_cents)]
```

## Use instead
Run it after the pre-deploy migration with ``schemaops backfill``, which
updates a small key range per transaction, throttles, and can be paused and
resumed: a plain UPDATE as ``schemaops backfill start orders.Order --set
"total_cents = total * 100" --where "total_cents IS NULL"``, a RunPython as a
``Backfill`` class in ``<app>/backfills.py`` on the model the function fetches
(``apps.get_model("orders", "Order")``, named from the migration's state; when
it fetches several, the finding says it cannot tell which).

## References
- https://github.com/ankane/strong_migrations#backfilling-data
- https://www.postgresql.org/docs/current/routine-vacuuming.html
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

from django.db import migrations
from pglast import ast, enums

from schemaops.checks._data import (
    global_names,
    has_loop,
    model_for_table,
    models_touched,
    render,
    unwrap,
)
from schemaops.findings import Finding, Severity
from schemaops.locks import Lock
from schemaops.plan import db_table_for
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import names

BULK_CALLS = {"update", "bulk_update", "delete", "_raw_delete"}
LOOP_CALLS = {"save", "bulk_create", "create"}
KEY_COLUMNS = {"id", "pk"}
RANGE_KINDS = (enums.A_Expr_Kind.AEXPR_IN, enums.A_Expr_Kind.AEXPR_BETWEEN)


class UnbatchedDataMigration(Rule):
    code = "SO305"
    name = "unbatched-data-migration"
    summary = "A data migration rewrites a whole table in one transaction"
    severity = Severity.WARNING
    category = "locking"
    operations = (migrations.RunPython,)
    statements = ("UpdateStmt", "DeleteStmt")

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        table = str(node.relation.relname)
        if ctx.is_new_table(table) or _bounded(node.whereClause):
            return
        verb = "UPDATE" if isinstance(node, ast.UpdateStmt) else "DELETE"
        where = render(node.whereClause) if node.whereClause is not None else None
        scope = f"WHERE {where}" if where else "no WHERE"
        yield self.finding(
            ctx,
            f"{verb} on {table} ({scope}, no key range) changes every matching row in one "
            "transaction",
            lock=f"{Lock.ROW_EXCLUSIVE.on(table)}, and a row lock on every row it changes",
            recipe=partial(
                _sql_recipe, node, table, where, model_for_table(ctx.migration.state, table)
            ),
        )

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        in_transaction = ctx.migration.atomic or bool(op.atomic)
        if not in_transaction or op.code is migrations.RunPython.noop:
            return
        called = global_names(op.code)
        bulk = sorted(called & BULK_CALLS)
        loop = sorted(called & LOOP_CALLS) if has_loop(op.code) else []
        if not bulk and not loop:
            return
        func = getattr(unwrap(op.code), "__name__", "the function")
        how = ", ".join(f".{c}()" for c in bulk) or ", ".join(f".{c}() in a loop" for c in loop)
        tables = [
            ctx.migration.state.models[(app, model.lower())]
            for app, model in models_touched(op.code, ctx.migration.state)
        ]
        names_ = [db_table_for(m.app_label, m.name, m.options) for m in tables]
        lock = "; ".join(Lock.ROW_EXCLUSIVE.on(t, "and row locks until commit") for t in names_)
        yield self.finding(
            ctx,
            f"RunPython({func}) calls {how} in one transaction: every row it touches stays "
            "locked until the migration commits",
            lock=lock or None,
            recipe=_python_recipe(ctx, op.code, func),
        )


def _bounded(where: Any) -> bool:
    """Is the WHERE clause ANDed with a key range (equality, IN, BETWEEN, or both bounds)?"""
    if where is None:
        return False
    conjuncts = [where]
    if isinstance(where, ast.BoolExpr) and where.boolop == enums.BoolExprType.AND_EXPR:
        conjuncts = list(where.args or ())
    bounds: set[str] = set()
    for expr in conjuncts:
        if not isinstance(expr, ast.A_Expr) or not isinstance(expr.lexpr, ast.ColumnRef):
            continue
        column = names(expr.lexpr.fields)
        if not column or column[-1] not in KEY_COLUMNS:
            continue
        kind = expr.kind
        op = names(expr.name)[0] if expr.name else ""
        if kind in RANGE_KINDS or (kind == enums.A_Expr_Kind.AEXPR_OP and op == "="):
            return True
        if op in ("<", "<="):
            bounds.add("upper")
        elif op in (">", ">="):
            bounds.add("lower")
    return bounds == {"upper", "lower"}


def _sql_recipe(node: Any, table: str, where: str | None, model: Any) -> str:
    """The UPDATE as a `schemaops backfill start` (its own SET and WHERE) on ``model`` (the
    table's, when the statement ran), or for a DELETE / a table no model has, what to do in
    words. Written when read: the planner's remedy replaces it."""
    if isinstance(node, ast.DeleteStmt) or model is None:
        return (
            f"remove the statement from the migration; after the deploy delete from {table} "
            "in small committed batches (a key range per transaction)"
        )
    sets = " ".join(f'--set "{t.name} = {render(t.val)}"' for t in node.targetList or ())
    command = f"schemaops backfill start {model.app_label}.{model.name} {sets}"
    if where:
        command += f' --where "{where}"'
    return f"remove this UPDATE from the migration; after `migrate --phase pre`: {command}"


def _python_recipe(ctx: OperationContext, func: Any, name: str) -> str:
    """Where the RunPython's work goes: a Backfill class on the model it fetches (named
    from the migration's state), or, when that is not one model, a remedy saying so."""
    found = models_touched(func, ctx.migration.state)
    if len(found) != 1:
        which = ", ".join(f"{a}.{m}" for a, m in found) or "no model schemaops can name"
        return (
            f"RunPython({name}) fetches {which}: schemaops cannot tell which table to walk. "
            "Move its work into a schemaops Backfill class (<app>/backfills.py, "
            "`process(batch)` on one key range) on the model it updates, run it with "
            "`schemaops backfill start <app>.<Class> --wait` after `schemaops migrate "
            "--phase pre`, and make the RunPython a no-op."
        )
    app, model = found[0]
    cls = "".join(w[:1].upper() + w[1:] for w in name.split("_") if w) or "DataChange"
    return (
        f"remove RunPython({name}) from the migration (or make it "
        "`migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)`); "
        f'move its work into `class {cls}(Backfill)` with `model = "{app}.{model}"` in '
        f"{app}/backfills.py, doing it for one key range in `process(batch)` (a queryset of "
        f"{model}) and returning the rows changed; after `schemaops migrate --phase pre` run "
        f"`schemaops backfill start {app}.{cls} --wait`"
    )
