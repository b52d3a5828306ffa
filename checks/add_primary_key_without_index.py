"""SO217 add-primary-key-without-index: a primary key builds its index under ACCESS EXCLUSIVE.

## What it does
Flags a primary key added to an existing table that builds its own index:
``ALTER TABLE ... ADD PRIMARY KEY (...)`` (not ``USING INDEX``) and ``ADD
COLUMN ... PRIMARY KEY`` in ``RunSQL``, and ``AlterField`` that makes a
field the primary key (Django runs ``ADD CONSTRAINT ... PRIMARY KEY``).

## Why is this bad?
The unique index is built while ACCESS EXCLUSIVE is held: reads and writes
wait for the whole build. Nullable key columns also get ``SET NOT NULL``,
another full scan under the same lock.

## Example
```python
operations = [migrations.RunSQL("ALTER TABLE legacy ADD PRIMARY KEY (code)")]
```

## Use instead
Build the index with ``CREATE UNIQUE INDEX CONCURRENTLY`` (``atomic =
False``), make the columns NOT NULL through a validated CHECK constraint,
then ``ALTER TABLE ... ADD CONSTRAINT ... PRIMARY KEY USING INDEX``, which
only takes a brief lock.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints, names
from schemaops.stats.model import Step

BUILD = "for the whole primary key index build"


class AddPrimaryKeyWithoutIndex(Rule):
    code = "SO217"
    name = "add-primary-key-without-index"
    summary = "A primary key builds its index under ACCESS EXCLUSIVE"
    category = "locking"
    operations = (migrations.AlterField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        old = ctx.field_before(op.name)
        if ctx.new_table or old is None or old.primary_key or not op.field.primary_key:
            return
        column = ctx.column(op.name, op.field)
        yield self.finding(  # the remedy (index CONCURRENTLY, PRIMARY KEY USING INDEX): planner's
            ctx,
            f"AlterField {ctx.model_name}.{op.name} makes {ctx.table}.{column} the primary key: "
            "its index is built under ACCESS EXCLUSIVE",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, BUILD),
            blocking=BlockingStep(Step.INDEX_BUILD, ctx.table),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if ctx.is_new_table(table):
                continue
            kind = cmd.subtype.name
            if kind == "AT_AddConstraint" and cmd.def_.contype == CONSTR.CONSTR_PRIMARY:
                if not cmd.def_.indexname:
                    columns = names(cmd.def_.keys)
                    yield self._sql_finding(ctx, str(table), cmd.def_.conname, columns)
            elif kind == "AT_AddColumn" and any(
                c.contype == CONSTR.CONSTR_PRIMARY for c in column_constraints(cmd.def_)
            ):
                yield self._sql_finding(ctx, str(table), None, [cmd.def_.colname])

    def _sql_finding(
        self, ctx: StatementContext, table: str, name: str | None, columns: list[str]
    ) -> Finding:
        name = name or f"{table}_pkey"
        return self.finding(
            ctx,
            f"ADD PRIMARY KEY ({', '.join(columns)}) on {table} builds its index under ACCESS "
            "EXCLUSIVE",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, BUILD),
            blocking=BlockingStep(Step.INDEX_BUILD, table),
        )
