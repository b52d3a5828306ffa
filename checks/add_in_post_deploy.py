"""SO116 add-in-post-deploy: a post-deploy migration adds what the deployed code already uses.

## What it does
In a post-deploy migration (``deploy_phase = "post"``), flags ``AddField``
(a column, or a many-to-many field's join table), ``CreateModel`` of a
table Django manages, and ``ALTER TABLE ... ADD COLUMN`` in ``RunSQL`` for
a column the models have.

## Why is this bad?
A post-deploy migration runs *after* the new code is deployed, and that
code's models already have the new field or model: Django selects every
field of a model, so each query of it fails with ``column ... does not
exist`` (or ``relation ... does not exist``) from the deploy until the
migration runs. Adding is the expand half: it belongs before the deploy.

## Example
```python
class Migration(migrations.Migration):
    deploy_phase = "post"
    operations = [migrations.AddField("order", "note", models.TextField(null=True))]
```

## Use instead
Add in a pre-deploy migration (no ``deploy_phase``), additive-safe: nullable
or with a ``db_default``. Keep post-deploy migrations for the contract half:
drops of what the new code no longer uses, and ``VALIDATE CONSTRAINT``.

## References
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#addfield
- https://github.com/ankane/strong_migrations#backfilling-data
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.findings import Finding
from schemaops.phases import POST
from schemaops.plan import model_with_column
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import AT, alter_commands

RECIPE = (
    'Move this operation into a pre-deploy migration (one without deploy_phase = "post"), '
    "applied before the code that uses it is deployed; keep it additive-safe "
    "(nullable, or with a db_default)."
)


class AddInPostDeploy(Rule):
    code = "SO116"
    name = "add-in-post-deploy"
    summary = "A post-deploy migration adds what the deployed code already uses"
    category = "breaking"
    operations = (migrations.AddField, migrations.CreateModel)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        if ctx.migration.phase != POST:
            return
        op = ctx.operation
        if isinstance(op, migrations.CreateModel):
            if ctx.after is not None and ctx.after.migrated:
                yield self.finding(
                    ctx,
                    f"post-deploy migration creates {ctx.after.db_table} ({op.name}): the "
                    "deployed code queries it before the migration runs",
                    recipe=RECIPE,
                )
            return
        if ctx.new_table:
            return
        yield self.finding(
            ctx,
            f"post-deploy migration adds {ctx.model_name}.{op.name} to {ctx.table}: the deployed "
            "code selects it before the migration runs, so every query of the model fails",
            recipe=RECIPE,
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        if ctx.migration.phase != POST:
            return
        for table, cmd in alter_commands(ctx.node):
            if table is None or cmd.subtype != AT.AT_AddColumn or ctx.is_new_table(table):
                continue
            owner = model_with_column(ctx.migration.state, table, cmd.def_.colname)
            if owner is not None:
                yield self.finding(
                    ctx,
                    f"post-deploy migration adds {table}.{cmd.def_.colname}, which the models "
                    f"have ({owner}): the deployed code selects it before the migration runs",
                    recipe=RECIPE,
                )
