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
Run it after the deploy with ``schemaops backfill``, which updates a small
key range per transaction, throttles, and can be paused and resumed:
``schemaops backfill start orders.Order --set "total_cents = total * 100"
--where "total_cents IS NULL"``.

## References
- https://github.com/ankane/strong_migrations#backfilling-data
- https://www.postgresql.org/docs/current/routine-vacuuming.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations
from pglast import ast, enums

from schemaops.checks._data import (
    backfill_command,
    batched_delete,
    global_names,
    has_loop,
    keyword_names,
    model_for_table,
    models_used,
    render,
    string_constants,
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
            recipe=_sql_recipe(ctx, node, table, where),
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
            for app, model in models_used(op.code, ctx.migration)
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


def _sql_recipe(ctx: StatementContext, node: Any, table: str, where: str | None) -> str:
    model = model_for_table(ctx.migration.state, table)
    if isinstance(node, ast.DeleteStmt) or model is None:
        return batched_delete(ctx.operation, table, where or "TRUE")
    assignments = [f"{t.name} = {render(t.val)}" for t in node.targetList or ()]
    cmd = backfill_command(model.app_label, model.name, assignments[0], where)
    for extra in assignments[1:]:
        cmd += f' --set "{extra}"'
    return f"# remove this UPDATE from the migration; after the deploy run:\n{cmd}"


def _python_recipe(ctx: OperationContext, func: Any, name: str) -> str:
    found = models_used(func, ctx.migration)
    if not found:
        return (
            f"Move {name} out of the migration: run it after the deploy with "
            'schemaops backfill start app_label.Model --set "field = <SQL expression>" '
            '--where "<rows still to fix>"'
        )
    app, model = found[0]
    state = ctx.migration.state.models[(app, model.lower())]
    fields = [c for c in keyword_names(func) if c in state.fields]
    fields += [c for c in string_constants(func) if c in state.fields]
    field = fields[0] if fields else "field"
    cmd = backfill_command(app, model, f"{field} = <SQL expression>", f"{field} IS NULL")
    return (
        f"# remove RunPython({name}) from the migration (or make it a no-op), and after "
        f"the deploy run, in small batches:\n{cmd}"
    )
