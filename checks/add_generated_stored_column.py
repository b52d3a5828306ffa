"""SO208 add-generated-stored-column: a stored generated column rewrites the table.

## What it does
Flags ``AddField(GeneratedField(..., db_persist=True))`` on an existing
table, and ``ADD COLUMN ... GENERATED ALWAYS AS (...) STORED`` in ``RunSQL``.

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

from schemaops.checks._lockrecipes import Code, render_model, run_sql, separate
from schemaops.columns import is_stored_generated
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.plan import offline_connection
from schemaops.remedy.code import join_steps, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints, ident
from schemaops.stats.model import Step

REWRITE = "while every row is computed and the table rewritten"


class AddGeneratedStoredColumn(Rule):
    code = "SO208"
    name = "add-generated-stored-column"
    summary = "A stored generated column is added, rewriting the table"
    category = "locking"
    operations = (migrations.AddField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if ctx.new_table or not is_stored_generated(op.field):
            return
        virtual = (
            " (on PostgreSQL 18+ db_persist=False avoids it)"
            if ctx.migration.target.pg_version >= 18
            else ""
        )
        yield self.finding(
            ctx,
            f"AddField {ctx.model_name}.{op.name} adds a stored generated column to {ctx.table}: "
            f"every row is computed and the table rewritten{virtual}",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, REWRITE),
            blocking=BlockingStep(Step.REWRITE, ctx.table),
            recipe=self._recipe(ctx, op),
        )

    def _recipe(self, ctx: OperationContext, op: Any) -> str:
        table, column = ctx.table, ctx.column(op.name, op.field)
        expr = _expression_sql(ctx, op.name)
        function = f"{table}_{column}_fill"
        trigger_sql = (
            f"CREATE FUNCTION {ident(function)}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  NEW.{ident(column)} := (SELECT {expr} FROM (SELECT NEW.*) AS new_row);\n"
            f"  RETURN NEW;\nEND $$;\n"
            f"CREATE TRIGGER {ident(function)} BEFORE INSERT OR UPDATE ON {ident(table)} "
            f"FOR EACH ROW EXECUTE FUNCTION {ident(function)}();"
        )
        code = Code()
        plain = code.field(op.field.output_field, null=True)
        first = migration_code(
            ctx,
            [
                separate(
                    [code.op(op)],
                    [
                        f'migrations.AddField("{op.model_name}", "{op.name}", {plain}),',
                        run_sql(trigger_sql, f"DROP FUNCTION IF EXISTS {ident(function)} CASCADE"),
                    ],
                )
            ],
            name=f"add_{op.model_name}_{op.name}",
            imports=code.header(),
        )
        backfill = (
            "# then backfill the existing rows in batches:\n"
            f"#    schemaops backfill start {ctx.app_label}.{ctx.model_name} "
            f'--set "{column} = {expr}" --where "{column} IS NULL" --wait'
        )
        return join_steps(first, backfill)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype.name != "AT_AddColumn" or ctx.is_new_table(table):
                continue
            if any(c.contype == CONSTR.CONSTR_GENERATED for c in column_constraints(cmd.def_)):
                yield self.finding(
                    ctx,
                    f"ADD COLUMN {cmd.def_.colname} ... GENERATED ALWAYS AS ... STORED rewrites "
                    f"{table}",
                    lock=Lock.ACCESS_EXCLUSIVE.on(str(table), REWRITE),
                    blocking=BlockingStep(Step.REWRITE, str(table)),
                    recipe="Add a plain nullable column, fill it with a BEFORE INSERT OR UPDATE "
                    "trigger, and backfill existing rows in batches (`schemaops backfill`).",
                )


def _expression_sql(ctx: OperationContext, name: str) -> str:
    """The generated expression's SQL as Django writes it, or a placeholder."""
    model = render_model(ctx, ctx.after) if ctx.after is not None else None
    if model is not None:
        try:
            connection = offline_connection(150000)
            editor = connection.schema_editor(collect_sql=True, atomic=False)
            sql, params = model._meta.get_field(name).generated_sql(connection)
            return str(sql % tuple(editor.quote_value(p) for p in params))
        except Exception:
            pass
    return "<the expression>"
