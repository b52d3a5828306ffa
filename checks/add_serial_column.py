"""SO211 add-serial-column: an auto-incrementing column is added, rewriting the table.

## What it does
Flags ``AddField`` of an ``AutoField``/``BigAutoField``/``SmallAutoField``
on an existing table, and ``ADD COLUMN`` of type ``serial``/``bigserial``/
``smallserial`` or ``GENERATED ... AS IDENTITY`` in ``RunSQL``.

## Why is this bad?
Every existing row needs its own value from the sequence, so PostgreSQL
rewrites the whole table (and rebuilds its indexes) under ACCESS EXCLUSIVE:
reads and writes wait until it is done. There is no in-place shortcut.

## Example
```python
operations = [migrations.AddField("order", "number", models.BigAutoField(primary_key=True))]
```

## Use instead
Add a plain nullable ``bigint`` column, create a sequence and ``SET
DEFAULT nextval(...)`` (new rows get values; no rewrite), backfill the
existing rows in batches with ``schemaops backfill``, then build the unique
index ``CONCURRENTLY`` and enforce NOT NULL with a validated CHECK.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
- https://github.com/ankane/strong_migrations#adding-an-auto-incrementing-column
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.columns import is_auto_field, type_from_node
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints
from schemaops.stats.model import Step

REWRITE = "while every row gets a value and the table is rewritten"
SERIALS = {"serial": "integer", "serial4": "integer", "bigserial": "bigint", "serial8": "bigint"}
SERIALS |= {"smallserial": "smallint", "serial2": "smallint"}


class AddSerialColumn(Rule):
    code = "SO211"
    name = "add-serial-column"
    summary = "An auto-incrementing column is added, rewriting the table"
    category = "locking"
    operations = (migrations.AddField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if ctx.new_table or not is_auto_field(op.field):
            return
        yield self.finding(  # the remedy (advice: sequence default, backfill) is the planner's
            ctx,
            f"AddField {ctx.model_name}.{op.name} adds an auto-incrementing column to "
            f"{ctx.table}: every row is numbered and the table rewritten",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, REWRITE),
            blocking=BlockingStep(Step.REWRITE, ctx.table),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype.name != "AT_AddColumn" or ctx.is_new_table(table):
                continue
            kind = _serial_kind(cmd.def_)
            if kind:
                yield self.finding(
                    ctx,
                    f"ADD COLUMN {cmd.def_.colname} {kind} on {table} numbers every row and "
                    "rewrites the table",
                    lock=Lock.ACCESS_EXCLUSIVE.on(str(table), REWRITE),
                    blocking=BlockingStep(Step.REWRITE, str(table)),
                )


def _serial_kind(coldef: Any) -> str | None:
    col_type = type_from_node(coldef.typeName)
    if col_type is not None and col_type.name in SERIALS:
        return col_type.name
    if any(c.contype == CONSTR.CONSTR_IDENTITY for c in column_constraints(coldef)):
        return "GENERATED AS IDENTITY"
    return None
