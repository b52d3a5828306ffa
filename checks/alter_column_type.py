"""SO206 alter-column-type: a column type change rewrites the table under ACCESS EXCLUSIVE.

## What it does
Flags ``AlterField`` whose PostgreSQL column type changes in a way that is
not binary-coercible, and ``ALTER COLUMN ... TYPE`` in ``RunSQL``. Changes
PostgreSQL makes without a rewrite pass: ``varchar(n)`` to ``varchar(m)``
with ``m >= n``, to unlimited ``varchar`` or to ``text``; ``text`` to
unlimited ``varchar``; ``numeric(p, s)`` to ``numeric(p2 >= p, s)`` or to
unconstrained ``numeric``; ``cidr`` to ``inet``; more (or unlimited)
precision for ``timestamp``, ``timestamptz``, ``time`` and ``interval``.

## Why is this bad?
Any other type change takes ACCESS EXCLUSIVE, rewrites every row into a new
file and rebuilds every index of the table. Reads and writes wait for all
of it: minutes to hours on a big table. Changing a primary key's type also
rewrites every table whose foreign keys point at it.

## Example
```python
operations = [migrations.AlterField("order", "amount", models.BigIntegerField())]
```

## Use instead
Expand and contract: add a new nullable column of the new type, write both
columns from the code, backfill in batches (``schemaops backfill``), then
switch the field to the new column and drop the old one in a post-deploy
migration. Or pick a binary-coercible change (e.g. ``text`` instead of a
shorter ``varchar``).

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
- https://github.com/ankane/strong_migrations#changing-the-type-of-a-column
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.checks._lockmap import StateSchema, operation_steps
from schemaops.checks._lockmap_ops import column_indexes, column_type
from schemaops.checks._lockrecipes import Code, run_sql, separate
from schemaops.columns import binary_coercible, type_from_node
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.remedy.code import join_steps, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import alter_commands, ident
from schemaops.stats.model import Step

REWRITE = "while every row is rewritten and every index rebuilt"


class AlterColumnType(Rule):
    code = "SO206"
    name = "alter-column-type"
    summary = "A column type change rewrites the table under ACCESS EXCLUSIVE"
    category = "locking"
    operations = (migrations.AlterField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        old = ctx.field_before(op.name)
        if ctx.new_table or old is None or old.many_to_many or op.field.many_to_many:
            return
        old_type, new_type = column_type(ctx, old), column_type(ctx, op.field)
        if old_type is None or new_type is None or binary_coercible(old_type, new_type):
            yield from self._collation(ctx, op, old)
            return
        column = ctx.column(op.name, old)
        others = {s.table for s in operation_steps(ctx) if "referencing" in s.action}
        also = f", and {len(others)} referencing table(s): {', '.join(sorted(others))}"
        yield self.finding(
            ctx,
            f"AlterField {ctx.model_name}.{op.name} changes {ctx.table}.{column} from {old_type} "
            f"to {new_type}, which is not binary-coercible: the table is rewritten"
            + (also if others else ""),
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, REWRITE),
            blocking=BlockingStep(Step.REWRITE, ctx.table),
            recipe=self._recipe(ctx, op, column, str(new_type)),
        )

    def _collation(self, ctx: OperationContext, op: Any, old: Any) -> Iterator[Finding]:
        """Same type, new collation: no rewrite, but every index on the column is rebuilt."""
        old_collation = getattr(old, "db_collation", None)
        new_collation = getattr(op.field, "db_collation", None)
        indexes = column_indexes(ctx.before, op.name)
        if old_collation == new_collation or not indexes:
            return
        column = ctx.column(op.name, old)
        yield self.finding(
            ctx,
            f"AlterField {ctx.model_name}.{op.name} changes the collation of {ctx.table}.{column} "
            f"to {new_collation or 'the default'}: no rewrite, but PostgreSQL rebuilds its "
            f"indexes ({', '.join(indexes)}) under ACCESS EXCLUSIVE",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, "while the column's indexes are rebuilt"),
            recipe=self._recipe(ctx, op, column, str(column_type(ctx, op.field))),
        )

    def _recipe(self, ctx: OperationContext, op: Any, column: str, new_type: str) -> str:
        model, name, table = op.model_name, op.name, ctx.table
        temp = f"{name}_new"
        code = Code()
        expand = migration_code(
            ctx,
            [f'migrations.AddField("{model}", "{temp}", {code.field(op.field, null=True)}),'],
            name=f"add_{model}_{temp}",
            imports=code.header(),
        )
        backfill = (
            f"# 2. deploy code that writes both {name} and {temp}, then backfill in batches:\n"
            f"#    schemaops backfill start {ctx.app_label}.{ctx.model_name} "
            f'--set "{temp} = {column}::{new_type}" --where "{temp} IS NULL" --wait'
        )
        contract = migration_code(
            ctx,
            [
                separate(
                    [
                        f'migrations.RemoveField("{model}", "{temp}"),',
                        f'migrations.AlterField("{model}", "{name}", '
                        f"{code.field(op.field, db_column=temp)}),",
                    ],
                    [run_sql(f"ALTER TABLE {ident(table)} DROP COLUMN {ident(column)}")],
                )
            ],
            name=f"swap_{model}_{name}",
            phase="post",
            after=f"add_{model}_{temp}",
            imports=code.header(),
        )
        return join_steps(
            f"# 1. expand: add the new column (nullable, no rewrite)\n{expand}",
            backfill,
            "# 3. contract, post-deploy: the field now reads the new column; the old one goes",
            contract,
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        schema = None
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype.name != "AT_AlterColumnType" or ctx.is_new_table(table):
                continue
            schema = schema or StateSchema(ctx.migration.state, ctx.migration.target.pg_version)
            new = type_from_node(cmd.def_.typeName)
            old = schema.column_type(str(table), cmd.name)
            using = cmd.def_.raw_default is not None
            known_pair = old is not None and new is not None and old != new
            if not using and known_pair and binary_coercible(old, new):  # type: ignore[arg-type]
                continue
            known = f"from {old} " if old is not None and old != new else ""
            yield self.finding(
                ctx,
                f"ALTER COLUMN {cmd.name} TYPE {new} on {table} {known}rewrites the table"
                + ("" if known else " unless the old type is binary-coercible to it"),
                lock=Lock.ACCESS_EXCLUSIVE.on(str(table), REWRITE),
                blocking=BlockingStep(Step.REWRITE, str(table)),
                recipe="Add a new column of the new type, dual-write, backfill with "
                "`schemaops backfill`, then swap the columns in a post-deploy migration.",
            )
