"""SO103 rename-column: a column is renamed while old code still uses the old name.

## What it does
Flags ``RenameField`` when the database column name changes, and
``ALTER TABLE ... RENAME COLUMN`` in ``RunSQL``. A ``RenameField`` whose field
keeps its column through ``db_column`` changes nothing in the database and
is not flagged; neither is a table created in the same migration.

## Why is this bad?
The rename itself is instant (a brief ACCESS EXCLUSIVE lock, no rewrite),
but the previous release, still serving requests during the rollout, names
the old column in every query of the model: they all fail until the new
code is everywhere. Rolling back the code after the migration breaks too.

## Example
```python
operations = [migrations.RenameField("order", "code", "reference")]
```

## Use instead
Rename the field in Python only and keep the column: give the new field
``db_column="<old column>"``; the migration is then a no-op in the database.
When the column name itself must change: add the new column, write both,
backfill with ``schemaops backfill``, switch the reads, then drop the old
column in a post-deploy migration.

## References
- https://docs.djangoproject.com/en/stable/ref/models/fields/#db-column
- https://github.com/ankane/strong_migrations#renaming-a-column
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations
from pglast import enums

from schemaops.checks._data import backfill_command, renamed_existing_table
from schemaops.checks.drop_column import swapped_in
from schemaops.columns import has_column
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.remedy.code import join_steps, migration_code, with_kwargs
from schemaops.rules import OperationContext, Rule, StatementContext

LOCK_NOTE = "briefly (no rewrite)"


class RenameColumn(Rule):
    code = "SO103"
    name = "rename-column"
    summary = "A column is renamed while the old code still uses the old name"
    category = "breaking"
    operations = (migrations.RenameField,)
    statements = ("RenameStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if ctx.new_table or ctx.before is None or ctx.after is None:
            return
        old = ctx.before.fields.get(op.old_name)
        new = ctx.after.fields.get(op.new_name)
        if old is None or new is None or not has_column(old):
            return
        old_col, new_col = ctx.column(op.old_name, old), ctx.column(op.new_name, new)
        if old_col == new_col:
            return
        yield self.finding(
            ctx,
            f"RenameField renames {ctx.table}.{old_col} to {new_col} "
            f"({ctx.model_name}.{op.old_name} -> {op.new_name}) while the running code "
            f"still uses {old_col}",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, LOCK_NOTE),
            recipe=self._recipe(ctx, op, old, new, old_col, new_col),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        table = renamed_existing_table(ctx, enums.ObjectType.OBJECT_COLUMN)
        if table is None or swapped_in(ctx, table, str(node.newname)):
            return  # a column swap in one transaction: the code keeps its column
        yield self.finding(
            ctx,
            f"RENAME COLUMN {table}.{node.subname} to {node.newname} breaks the running "
            f"code that still uses {node.subname}",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, LOCK_NOTE),
            recipe=f"Keep the column {node.subname} and rename only the Django field, with "
            f'db_column="{node.subname}" on it; or add {node.newname}, write both, backfill '
            f"with schemaops backfill, then drop {node.subname} in a post-deploy migration.",
        )

    def _recipe(
        self, ctx: OperationContext, op: Any, old: Any, new: Any, old_col: str, new_col: str
    ) -> str:
        model = op.model_name
        keep = migration_code(
            ctx,
            [
                f'migrations.AlterField("{model}", "{op.old_name}", '
                f"{with_kwargs(old, db_column=old_col)}),",
                f'migrations.RenameField("{model}", "{op.old_name}", "{op.new_name}"),',
            ],
            name=f"rename_{model}_{op.old_name}_keep_column",
        )
        expand = migration_code(
            ctx,
            [
                f'migrations.AddField("{model}", "{op.new_name}", '
                f"{with_kwargs(new, null=True, db_column=None)}),"
            ],
            name=f"{model}_{op.new_name}",
        )
        app_model = ctx.after.name if ctx.after else model
        backfill = backfill_command(
            ctx.app_label, app_model, f"{new_col} = {old_col}", f"{new_col} IS NULL"
        )
        return join_steps(
            f"# A. keep the column: set db_column on the field, no database change "
            f'(model: {op.new_name} = ...(db_column="{old_col}")):',
            keep,
            f"# B. the column name must change: expand, write both {old_col} and "
            f"{new_col} in the code, backfill, switch reads, then drop {old_col} post-deploy:",
            expand,
            f"# then, with the dual-writing code deployed:\n# {backfill}",
        )
