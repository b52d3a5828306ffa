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

from schemaops.checks._lockmap_ops import column_type
from schemaops.checks._lockrecipes import Code, run_sql, separate
from schemaops.columns import is_auto_field, type_from_node
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.remedy.code import join_steps, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints, ident
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
        col_type = column_type(ctx, op.field)
        yield self.finding(
            ctx,
            f"AddField {ctx.model_name}.{op.name} adds an auto-incrementing column to "
            f"{ctx.table}: every row is numbered and the table rewritten",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, REWRITE),
            blocking=BlockingStep(Step.REWRITE, ctx.table),
            recipe=self._recipe(ctx, op, str(col_type or "bigint")),
        )

    def _recipe(self, ctx: OperationContext, op: Any, sql_type: str) -> str:
        table, column = ctx.table, ctx.column(op.name, op.field)
        seq = f"{table}_{column}_seq"
        code = Code()
        state = [code.op(op)]
        db = [
            run_sql(
                f"ALTER TABLE {ident(table)} ADD COLUMN {ident(column)} {sql_type}",
                f"ALTER TABLE {ident(table)} DROP COLUMN {ident(column)}",
            ),
            run_sql(
                f"CREATE SEQUENCE {ident(seq)} AS {sql_type} "
                f"OWNED BY {ident(table)}.{ident(column)}"
            ),
            run_sql(
                f"ALTER TABLE {ident(table)} ALTER COLUMN {ident(column)} "
                f"SET DEFAULT nextval('{seq}')"
            ),
        ]
        first = migration_code(
            ctx,
            [separate(state, db)],
            name=f"add_{op.model_name}_{op.name}",
            imports=code.header(),
        )
        return join_steps(
            "# 1. a plain column whose default numbers new rows (no rewrite):",
            first,
            "# 2. number the existing rows in batches:\n"
            f"#    schemaops backfill start {ctx.app_label}.{ctx.model_name} "
            f'--set "{column} = nextval(\'{seq}\')" --where "{column} IS NULL" --wait',
            f"# 3. CREATE UNIQUE INDEX CONCURRENTLY on {table} ({column}) in an atomic = False "
            "migration, then NOT NULL via a NOT VALID CHECK + VALIDATE (and PRIMARY KEY USING "
            "INDEX if it is the new primary key).",
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
                    recipe="Add a plain nullable bigint column, CREATE SEQUENCE, SET DEFAULT "
                    "nextval(...), backfill existing rows in batches (`schemaops backfill`), "
                    "then add the unique index CONCURRENTLY.",
                )


def _serial_kind(coldef: Any) -> str | None:
    col_type = type_from_node(coldef.typeName)
    if col_type is not None and col_type.name in SERIALS:
        return col_type.name
    if any(c.contype == CONSTR.CONSTR_IDENTITY for c in column_constraints(coldef)):
        return "GENERATED AS IDENTITY"
    return None
