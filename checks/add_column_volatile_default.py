"""SO207 add-column-volatile-default: a new column's default rewrites the table.

## What it does
Flags ``AddField`` on an existing table whose ``db_default`` is volatile
(``Random()``, ``RawSQL("gen_random_uuid()")``, a function PostgreSQL
evaluates per row), and ``ALTER TABLE ... ADD COLUMN ... DEFAULT
volatile()`` in ``RunSQL``. Before PostgreSQL 11 *any* default rewrites the
table, including the one Django writes for a field with ``default=``.
``Now()`` is stable, not volatile: on PostgreSQL 11+ it is evaluated once;
so are Django's other database functions (``Pi()``, ``MD5()``,
``ExtractYear()``...). Defaults schemaops cannot classify (your own SQL
functions) are taken as volatile.

## Why is this bad?
PostgreSQL 11+ stores a constant default in the catalog and adds the column
instantly. A volatile default must be computed for every existing row, so
the table is rewritten under ACCESS EXCLUSIVE: reads and writes wait for
the whole rewrite and every index rebuild.

## Example
```python
operations = [
    migrations.AddField("order", "token",
                        models.UUIDField(db_default=RawSQL("gen_random_uuid()", []))),
]
```

## Use instead
``schemaops fix`` writes it: the column added nullable and without a
default, then ``SET DEFAULT`` for new rows (it never rewrites), the existing
rows filled in batches with ``schemaops backfill --set "col = <the
default>"``, and after the deploy NOT NULL through a ``NOT VALID`` CHECK
validated in the next migration.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
- https://www.postgresql.org/docs/current/xfunc-volatility.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.checks._lockmap_ops import effective_default
from schemaops.columns import (
    db_default,
    default_volatility,
    is_auto_field,
    is_stored_generated,
)
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints, volatility
from schemaops.stats.model import Step

REWRITE = "while the table is rewritten with a value per row"


class AddColumnVolatileDefault(Rule):
    code = "SO207"
    name = "add-column-volatile-default"
    summary = "A new column's default is volatile, so the table is rewritten"
    category = "locking"
    operations = (migrations.AddField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        field = ctx.operation.field
        if ctx.new_table or field.many_to_many or is_auto_field(field):
            return
        if is_stored_generated(field):
            return  # add-generated-stored-column
        verdict = self._verdict(field, ctx.migration.target.pg_version)
        if verdict is None:
            return
        op = ctx.operation
        yield self.finding(
            ctx,
            f"AddField {ctx.model_name}.{op.name} adds a column to {ctx.table} whose default "
            f"{verdict}: the table is rewritten",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, REWRITE),
            blocking=BlockingStep(Step.REWRITE, ctx.table),
        )  # the remedy is the planner's (schemaops.remedy.fill): expand, backfill, contract

    @staticmethod
    def _verdict(field: Any, pg_version: int) -> str | None:
        default = db_default(field)
        if pg_version < 11 and (default is not None or effective_default(field)):
            return f"must be written into every row on PostgreSQL {pg_version}"
        if default is None:
            return None
        kind = default_volatility(default)
        if kind == "volatile":
            return "is volatile (computed per row)"
        if kind == "unknown":
            return "may be volatile (not known to be stable, so taken as volatile)"
        return None

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        pg_version = ctx.migration.target.pg_version
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype.name != "AT_AddColumn" or ctx.is_new_table(table):
                continue
            for con in column_constraints(cmd.def_):
                if con.contype != CONSTR.CONSTR_DEFAULT:
                    continue
                kind = "volatile" if pg_version < 11 else volatility(con.raw_expr)
                if kind == "stable":
                    continue
                yield self.finding(
                    ctx,
                    f"ADD COLUMN {cmd.def_.colname} on {table} with a "
                    + ("possibly " if kind == "unknown" else "")
                    + f"volatile DEFAULT rewrites the table (PostgreSQL {pg_version})"
                    + (": not known to be stable, taken as volatile" if kind == "unknown" else ""),
                    lock=Lock.ACCESS_EXCLUSIVE.on(str(table), REWRITE),
                    blocking=BlockingStep(Step.REWRITE, str(table)),
                    recipe="ADD COLUMN without the default; ALTER COLUMN ... SET DEFAULT ...; "
                    "backfill existing rows in batches (`schemaops backfill`).",
                )
