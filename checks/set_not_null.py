"""SO109 set-not-null: SET NOT NULL scans the whole table under ACCESS EXCLUSIVE.

## What it does
Flags ``AlterField`` from ``null=True`` to ``null=False`` and
``ALTER TABLE ... ALTER COLUMN ... SET NOT NULL`` on an existing table. On
PostgreSQL 12+ it is exempt when a validated ``CHECK (col IS NOT NULL)``
exists: in the model state's constraints, or added (or validated) earlier
in this or an earlier migration's SQL (RunSQL). This is a lock problem, so it is reported in
post-deploy migrations too.

## Why is this bad?
``SET NOT NULL`` takes an ACCESS EXCLUSIVE lock and reads every row to
prove there is no NULL: reads and writes of the table stop for the whole
scan. When the field has a default, Django also runs
``UPDATE ... SET col = <default> WHERE col IS NULL`` in the same
transaction, holding the lock while it rewrites those rows.

## Example
```python
field = models.CharField(max_length=20)  # was null=True
operations = [migrations.AlterField("order", "status", field)]
```

## Use instead
``schemaops fix`` writes it, all of it *after the deploy* (until then the
old code may still write NULL, and a ``NOT VALID`` CHECK refuses new rows at
once): fill the NULLs with ``schemaops backfill`` (``--set "col = <the
default>"``; a field without a default needs a value of your choosing), then
``CHECK (col IS NOT NULL) NOT VALID`` (brief lock, no scan), ``VALIDATE`` it
in the next migration (SHARE UPDATE EXCLUSIVE: reads and writes go on), and
``SET NOT NULL``, which PostgreSQL 12+ proves from the validated check
without a scan; then drop the check. A foreign key keeps its constraint and
its index.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL
- https://github.com/tbicr/django-pg-zero-downtime-migrations#dealing-with-not-null-constraint
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.checks._data import has_code_default, not_null_proven
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import AT, alter_commands, ident
from schemaops.stats.model import Step

LOCK_NOTE = "for a full table scan"


class SetNotNull(Rule):
    code = "SO109"
    name = "set-not-null"
    summary = "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock"
    category = "locking"
    operations = (migrations.AlterField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        old = ctx.field_before(op.name)
        if ctx.new_table or old is None or not old.null or op.field.null:
            return
        if getattr(op.field, "many_to_many", False):
            return
        column = ctx.column(op.name, op.field)
        if not_null_proven(ctx, column, op.name):
            return
        update = ""
        if has_code_default(op.field):
            update = f" after UPDATE ... SET {column} = <default> WHERE {column} IS NULL"
            fill = "existing NULLs get the default through `schemaops backfill`"
        else:
            fill = (
                f"{op.name} has no default: existing NULLs must be filled with a value "
                "(`schemaops backfill`) before it"
            )
        yield self.finding(
            ctx,
            f"AlterField {ctx.model_name}.{op.name} sets {ctx.table}.{column} NOT NULL{update}: "
            f"reads and writes wait for a full table scan; {fill}",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, LOCK_NOTE),
            blocking=BlockingStep(Step.NOT_NULL_SCAN, ctx.table),
        )  # the remedy is the planner's (schemaops.remedy.fill): all of it after the deploy

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype != AT.AT_SetNotNull or table is None or ctx.is_new_table(table):
                continue
            column = str(cmd.name)
            if not_null_proven(ctx.operation, column, None, table):
                continue
            name = ident(f"{table}_{column}_not_null")
            yield self.finding(
                ctx,
                f"SET NOT NULL on {table}.{column}: reads and writes wait for a full table scan",
                lock=Lock.ACCESS_EXCLUSIVE.on(table, LOCK_NOTE),
                blocking=BlockingStep(Step.NOT_NULL_SCAN, table),
                recipe=f"ALTER TABLE {ident(table)} ADD CONSTRAINT {name} "
                f"CHECK ({ident(column)} IS NOT NULL) NOT VALID; then, in a separate "
                f"migration, VALIDATE CONSTRAINT {name}; then SET NOT NULL "
                "(no scan on PostgreSQL 12+) and DROP CONSTRAINT.",
            )
