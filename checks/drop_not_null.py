"""SO110 drop-not-null: a column starts accepting NULLs the old code may not expect.

## What it does
Flags ``AlterField`` from ``null=False`` to ``null=True`` and
``ALTER TABLE ... ALTER COLUMN ... DROP NOT NULL`` on an existing table, in
a pre-deploy migration. Exempt: the first half of a column removal, a
``SeparateDatabaseAndState`` whose state operations remove that very field.

## Why is this bad?
The statement is instant (a brief ACCESS EXCLUSIVE lock). The risk is in
the data: as soon as the new code writes NULLs, the previous release, still
running during the rollout, reads them where it never had to handle one
(``None`` in templates, arithmetic, ``.lower()``...). A later rollback of
the code meets the same NULLs.

## Example
```python
field = models.CharField(max_length=20, null=True)  # was NOT NULL
operations = [migrations.AlterField("order", "code", field)]
```

## Use instead
Ship code that tolerates NULL in that column first, then drop the NOT NULL
in a post-deploy migration (``deploy_phase = "post"``).

## References
- https://squawkhq.com/docs/ban-drop-not-null
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.checks._expand_contract import alter_after_deploy
from schemaops.findings import Finding, Severity
from schemaops.locks import Lock
from schemaops.plan import column_for
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import AT, alter_commands

LOCK_NOTE = "briefly (no scan)"


class DropNotNull(Rule):
    code = "SO110"
    name = "drop-not-null"
    summary = "A column starts accepting NULLs that the old code may not handle"
    severity = Severity.WARNING
    category = "additive"
    operations = (migrations.AlterField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        old = ctx.field_before(op.name)
        if ctx.new_table or old is None or old.null or not op.field.null:
            return
        if getattr(op.field, "many_to_many", False) or _removed_with(ctx, ctx.table, op.name):
            return
        column = ctx.column(op.name, op.field)
        yield self.finding(
            ctx,
            f"AlterField {ctx.model_name}.{op.name} lets {ctx.table}.{column} be NULL while "
            "the running code may not handle NULLs",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, LOCK_NOTE),
            recipe=alter_after_deploy(ctx, op, "handles NULL", "nullable"),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype != AT.AT_DropNotNull or table is None or ctx.is_new_table(table):
                continue
            if _removed_with(ctx.operation, table, None, str(cmd.name)):
                continue
            yield self.finding(
                ctx,
                f"DROP NOT NULL on {table}.{cmd.name} while the running code may not handle NULLs",
                lock=Lock.ACCESS_EXCLUSIVE.on(table, LOCK_NOTE),
                recipe="Deploy code that handles NULL first; move this statement into a "
                'post-deploy migration (deploy_phase = "post").',
            )


def _removed_with(
    ctx: OperationContext, table: str, field_name: str | None, column: str | None = None
) -> bool:
    """Is this inside a SeparateDatabaseAndState whose state removes the field?"""
    parent = ctx.step.parent
    while parent is not None and not isinstance(
        parent.operation, migrations.SeparateDatabaseAndState
    ):
        parent = parent.parent
    if parent is None:
        return False
    for op in getattr(parent.operation, "state_operations", ()):
        if isinstance(op, migrations.RemoveField) and _same_field(
            parent.state_models, ctx, op, table, field_name, column
        ):
            return True
    return False


def _same_field(
    models: dict[Any, Any],
    ctx: OperationContext,
    op: Any,
    table: str,
    field_name: str | None,
    column: str | None,
) -> bool:
    model = models.get((ctx.app_label, op.model_name_lower))
    if model is None or model.db_table != table:
        return False
    if field_name is not None:
        return bool(op.name_lower == field_name.lower())
    field = model.fields.get(op.name)
    return field is not None and column_for(op.name, field) == column
