"""SO104 rename-table: a table is renamed while old code still queries the old name.

## What it does
Flags ``RenameModel`` and ``AlterModelTable`` when the database table name
changes, and ``ALTER TABLE ... RENAME TO`` in ``RunSQL``. A ``RenameModel``
of a model whose ``db_table`` keeps the table name is not flagged.

## Why is this bad?
The rename is instant (a brief ACCESS EXCLUSIVE lock), but the previous
release still runs during the rollout and names the old table in every
query of the model: they all fail until the new code is everywhere.

## Example
```python
operations = [migrations.RenameModel("Order", "Purchase")]
```

## Use instead
Rename the class only: pin the current table with ``db_table`` in the
model's ``Meta`` first, and the rename changes nothing in the database. If
the table name itself must change, rename it and leave an updatable view
under the old name for the old code, dropped in a post-deploy migration.

## References
- https://docs.djangoproject.com/en/stable/ref/models/options/#db-table
- https://github.com/ankane/strong_migrations#renaming-a-table
- https://www.postgresql.org/docs/current/sql-createview.html#SQL-CREATEVIEW-UPDATABLE-VIEWS
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations
from pglast import enums

from schemaops.checks._data import renamed_existing_table
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.remedy.code import join_steps, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import ident

LOCK_NOTE = "briefly (no rewrite)"


class RenameTable(Rule):
    code = "SO104"
    name = "rename-table"
    summary = "A table is renamed while the old code still queries the old name"
    category = "additive"
    operations = (migrations.RenameModel, migrations.AlterModelTable)
    statements = ("RenameStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        if ctx.new_table or ctx.before is None or ctx.after is None:
            return
        old, new = ctx.before.db_table, ctx.after.db_table
        if old == new:
            return
        op = ctx.operation
        what = (
            f"RenameModel {ctx.before.name} -> {ctx.after.name}"
            if isinstance(op, migrations.RenameModel)
            else f"AlterModelTable on {ctx.model_name}"
        )
        yield self.finding(
            ctx,
            f"{what} renames table {old} to {new} while the running code still queries {old}",
            lock=Lock.ACCESS_EXCLUSIVE.on(old, LOCK_NOTE),
            recipe=self._recipe(ctx, old, new),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        table = renamed_existing_table(ctx, enums.ObjectType.OBJECT_TABLE)
        if table is None:
            return
        yield self.finding(
            ctx,
            f"RENAME TO renames table {table} to {node.newname} while the running code "
            f"still queries {table}",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, LOCK_NOTE),
            recipe=f"Keep the table name (db_table = {table!r} in the model's Meta), or "
            f"create a view {table} over {node.newname} in the same migration and drop "
            "it in a post-deploy migration.",
        )

    def _recipe(self, ctx: OperationContext, old: str, new: str) -> str:
        op = ctx.operation
        before_name = ctx.before.name if ctx.before else ctx.model_name
        if isinstance(op, migrations.RenameModel):
            keep_ops = [
                f'migrations.AlterModelTable("{op.old_name}", "{old}"),',
                f'migrations.RenameModel("{op.old_name}", "{op.new_name}"),',
            ]
            state_op = f'migrations.RenameModel("{op.old_name}", "{op.new_name}")'
        else:
            keep_ops = [f"# drop this AlterModelTable and keep db_table = {old!r}"]
            state_op = f'migrations.AlterModelTable("{op.name}", "{new}")'
        keep = migration_code(ctx, keep_ops, name=f"rename_{before_name.lower()}_keep_table")
        return join_steps(
            f"# A. keep the table {old}: pin it with Meta.db_table = {old!r} (no database change):",
            keep,
            f"# B. the table name must change: rename, with a view {old} for the old code "
            "(simple views are updatable):",
            *_view_steps(ctx, state_op, old, new),
        )


def _view_steps(ctx: OperationContext, state_op: str, old: str, new: str) -> list[str]:
    """Rename the table and leave an updatable view under the old name; drop it post-deploy."""
    sql = f"ALTER TABLE {ident(old)} RENAME TO {ident(new)}; "
    sql += f"CREATE VIEW {ident(old)} AS SELECT * FROM {ident(new)}"
    reverse = f"DROP VIEW {ident(old)}; ALTER TABLE {ident(new)} RENAME TO {ident(old)}"
    view = migration_code(
        ctx,
        [
            "migrations.SeparateDatabaseAndState(",
            f"    state_operations=[{state_op}],",
            f"    database_operations=[migrations.RunSQL({sql!r}, reverse_sql={reverse!r})],",
            "),",
        ],
        name=f"rename_{old}_to_{new}",
    )
    drop_sql = f"DROP VIEW IF EXISTS {ident(old)}"
    drop_view = migration_code(
        ctx,
        [f"migrations.RunSQL({drop_sql!r}, reverse_sql=migrations.RunSQL.noop),"],
        name=f"drop_view_{old}",
        phase="post",
        after=f"rename_{old}_to_{new}",
    )
    return [view, "# then, post-deploy:", drop_view]
