"""SO202 remove-index-non-concurrently: an index is dropped under ACCESS EXCLUSIVE.

## What it does
Flags index drops on an existing table that do not use ``CONCURRENTLY``:
``RemoveIndex``, ``AlterField`` that turns ``db_index`` off (Django drops the
index, and the ``_like`` index of a text column), ``AlterIndexTogether`` that
removes an entry, and ``DROP INDEX`` in ``RunSQL``.

## Why is this bad?
``DROP INDEX`` takes an ACCESS EXCLUSIVE lock on the index's table. The drop
itself is quick, but the lock request waits for every running query on the
table, and every query that arrives after it waits behind it: one slow
report turns into a full outage of the table for as long as it runs.

## Example
```python
operations = [migrations.RemoveIndex("order", "order_created_idx")]
```

## Use instead
``RemoveIndexConcurrently`` (``django.contrib.postgres.operations``) in a
migration with ``atomic = False``: ``DROP INDEX CONCURRENTLY`` takes SHARE
UPDATE EXCLUSIVE, which lets reads and writes go on.

## References
- https://www.postgresql.org/docs/current/sql-dropindex.html
- https://docs.djangoproject.com/en/stable/ref/contrib/postgres/operations/#concurrent-index-operations
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import migrations
from pglast import enums

from schemaops.checks._lockmap import StateSchema, operation_steps
from schemaops.checks._lockmap_sql import ast_names
from schemaops.findings import Finding, Severity
from schemaops.locks import Lock
from schemaops.remedy.sql import fix_hint, statement_recipe
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import ident

HINT = "Drop the index CONCURRENTLY, in a migration with atomic = False"
WHILE = "until every query running on it finishes, and every later query waits behind it"


class RemoveIndexNonConcurrently(Rule):
    code = "SO202"
    name = "remove-index-non-concurrently"
    summary = "An index is dropped without CONCURRENTLY, queueing all queries"
    severity = Severity.WARNING
    category = "locking"
    operations = (migrations.RemoveIndex, migrations.AlterField, migrations.AlterIndexTogether)
    statements = ("DropStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if ctx.new_table or isinstance(op, RemoveIndexConcurrently):
            return
        drops = [s for s in operation_steps(ctx) if s.action.startswith("DROP INDEX")]
        if not drops:
            return
        lock = Lock.ACCESS_EXCLUSIVE.on(ctx.table, WHILE)
        if isinstance(op, migrations.RemoveIndex):
            message = f"RemoveIndex drops {op.name} on {ctx.table} without CONCURRENTLY"
        else:
            what = f"{ctx.model_name}.{op.name}" if hasattr(op, "field") else ctx.model_name
            message = (
                f"{type(op).__name__} {what} drops an index on {ctx.table} without CONCURRENTLY"
            )
        yield self.finding(
            ctx, message, lock=lock, recipe=fix_hint(ctx.app_label, ctx.migration.name, HINT)
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        if node.removeType != enums.ObjectType.OBJECT_INDEX or node.concurrent:
            return
        schema = StateSchema(ctx.migration.state, ctx.migration.target.pg_version)
        for obj in node.objects or ():
            index = ast_names(obj)[-1]
            table = schema.index_table(index) or _table_before(ctx, index)
            if ctx.is_new_table(table):
                continue
            yield self.finding(
                ctx,
                f"DROP INDEX {index}{f' on {table}' if table else ''} without CONCURRENTLY",
                lock=Lock.ACCESS_EXCLUSIVE.on(table or f"the table of {index}", WHILE),
                recipe=statement_recipe(f"DROP INDEX {ident(index)}") or HINT,
            )


def _table_before(ctx: StatementContext, index: str) -> str | None:
    """The table of an index the operation itself removes (gone from the state after it)."""
    before = ctx.operation.before
    if before is not None and any(i.name == index for i in (*before.indexes, *before.constraints)):
        return before.db_table
    return None
