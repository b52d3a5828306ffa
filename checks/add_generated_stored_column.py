"""SO208 add-generated-stored-column: a stored generated column rewrites the table.

## What it does
Flags ``AddField(GeneratedField(..., db_persist=True))`` on an existing
table, and ``ADD COLUMN ... GENERATED ALWAYS AS (...) STORED`` in ``RunSQL``.
Before PostgreSQL 18 it also flags a ``GeneratedField(db_persist=False)`` in
``AddField`` or ``CreateModel``: Django writes ``... VIRTUAL``, which
PostgreSQL refuses, so the migration fails at migrate time.

## Why is this bad?
A stored generated column is computed and written for every existing row
when it is added: the table is rewritten under ACCESS EXCLUSIVE, and reads
and writes wait for the whole rewrite and every index rebuild.

## Example
```python
operations = [
    migrations.AddField("order", "total_cents", models.GeneratedField(
        expression=F("amount") * 100, output_field=models.BigIntegerField(), db_persist=True)),
]
```

## Use instead
Keep the ``GeneratedField`` in Django's state, but in the database add a
plain nullable column that a trigger fills on INSERT/UPDATE, and backfill
the existing rows in batches (``schemaops backfill``). Django never writes
a generated field, so the model reads the column unchanged. On PostgreSQL
18+ a virtual generated column (``db_persist=False``) needs no rewrite.

## References
- https://www.postgresql.org/docs/current/ddl-generated-columns.html
- https://docs.djangoproject.com/en/stable/ref/models/fields/#generatedfield
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.columns import is_stored_generated
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints
from schemaops.stats.model import Step

REWRITE = "while every row is computed and the table rewritten"


class AddGeneratedStoredColumn(Rule):
    code = "SO208"
    name = "add-generated-stored-column"
    summary = "A stored generated column is added, rewriting the table"
    category = "locking"
    operations = (migrations.AddField, migrations.CreateModel)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        version = ctx.migration.target.pg_version
        for name in _virtual(op) if version < 18 else ():
            yield self.finding(
                ctx,
                f"{type(op).__name__} {ctx.model_name}.{name} is a GeneratedField with "
                f"db_persist=False: Django writes GENERATED ALWAYS AS (...) VIRTUAL, which "
                f"PostgreSQL {version} rejects (virtual generated columns came in 18), so "
                "the migration fails at migrate time",
                recipe="Set db_persist=True (on a new table nothing is rewritten; on an "
                "existing one see this rule's recipe), or keep the expression in a query "
                "annotation until the database runs PostgreSQL 18",
            )
        if isinstance(op, migrations.CreateModel) or ctx.new_table:
            return
        if not is_stored_generated(op.field):
            return
        virtual = (
            " (on PostgreSQL 18+ db_persist=False avoids it)"
            if ctx.migration.target.pg_version >= 18
            else ""
        )
        yield self.finding(  # the remedy (advice: trigger-filled column, backfill): the planner's
            ctx,
            f"AddField {ctx.model_name}.{op.name} adds a stored generated column to {ctx.table}: "
            f"every row is computed and the table rewritten{virtual}",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, REWRITE),
            blocking=BlockingStep(Step.REWRITE, ctx.table),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype.name != "AT_AddColumn" or ctx.is_new_table(table):
                continue
            kinds = {
                getattr(c, "generated_kind", "s")
                for c in column_constraints(cmd.def_)
                if c.contype == CONSTR.CONSTR_GENERATED
            }
            if "v" in kinds and ctx.migration.target.pg_version < 18:
                yield self.finding(
                    ctx,
                    f"ADD COLUMN {cmd.def_.colname} ... GENERATED ALWAYS AS ... VIRTUAL: "
                    f"PostgreSQL {ctx.migration.target.pg_version} rejects it (18+), so the "
                    "migration fails at migrate time",
                    recipe="Use STORED (see this rule's recipe) or wait for PostgreSQL 18",
                )
            if "s" in kinds:
                yield self.finding(
                    ctx,
                    f"ADD COLUMN {cmd.def_.colname} ... GENERATED ALWAYS AS ... STORED rewrites "
                    f"{table}",
                    lock=Lock.ACCESS_EXCLUSIVE.on(str(table), REWRITE),
                    blocking=BlockingStep(Step.REWRITE, str(table)),
                )


def _virtual(op: Any) -> list[str]:
    """The names of the op's non-persisted GeneratedFields."""
    fields = op.fields if isinstance(op, migrations.CreateModel) else [(op.name, op.field)]
    return [
        name
        for name, field in fields
        if type(field).__name__ == "GeneratedField" and not getattr(field, "db_persist", True)
    ]
