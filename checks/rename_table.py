"""SO104 rename-table: a table is renamed while old code still queries the old name.

## What it does
Flags ``RenameModel`` and ``AlterModelTable`` when the database table name
changes, and ``ALTER TABLE | VIEW | MATERIALIZED VIEW ... RENAME TO`` in
``RunSQL`` (the old code queries a view by name as well). A ``RenameModel``
of a model whose ``db_table`` keeps the table name is not flagged, nor a
``RENAME TO`` whose ``RunSQL`` creates a view under the old name.

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
from schemaops.rules import OperationContext, Rule, StatementContext

LOCK_NOTE = "briefly (no rewrite)"


# what ALTER ... RENAME TO renames: ALTER TABLE also renames a view; ALTER VIEW as well
_RELATIONS = {
    enums.ObjectType.OBJECT_TABLE: "table",
    enums.ObjectType.OBJECT_VIEW: "view",
    enums.ObjectType.OBJECT_MATVIEW: "materialized view",
}


class RenameTable(Rule):
    code = "SO104"
    name = "rename-table"
    summary = "A table is renamed while the old code still queries the old name"
    category = "breaking"
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
        table = renamed_existing_table(ctx, *_RELATIONS)
        if table is None or _view_keeps_name(ctx, table):
            return
        what = _RELATIONS[node.renameType]
        yield self.finding(
            ctx,
            f"RENAME TO renames {what} {table} to {node.newname} while the running code "
            f"still queries {table}",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, LOCK_NOTE),
            recipe=(
                f"Keep the table name (db_table = {table!r} in the model's Meta), or "
                f"create a view {table} over {node.newname} in the same migration and drop "
                "it in a post-deploy migration."
                if what == "table"
                else f"Keep the {what}'s name, or create the {what} under the new name "
                f"{node.newname} beside {table} and drop {table} in a post-deploy "
                "migration, once the code reads the new name."
            ),
        )

    def _recipe(self, ctx: OperationContext, old: str, new: str) -> str:
        """Prose only: the planner writes the migrations when the table name can simply be
        kept (schemaops.remedy.rename, jointables) or renamed under a view (tableview);
        these are the cases it leaves to the user."""
        name = ctx.after.name if ctx.after else ctx.model_name
        return (
            f"Keep the table: db_table = {old!r} in {name}'s Meta, and the rename changes "
            "nothing in the database (join tables of auto-created many-to-many fields still "
            "get their <model>_id column renamed: declare them as explicit through models "
            "with db_column first). If the table itself must be renamed: rename it and "
            f"create a view {old} over {new} in the same migration (simple views are "
            "updatable), then drop the view in a post-deploy migration."
        )


def _view_keeps_name(ctx: StatementContext, table: str) -> bool:
    """Does the same ``RunSQL`` create a view named ``table`` (the old code's name, kept
    for it until a post-deploy migration drops the view)?"""
    from pglast import ast

    from schemaops.statements import SQLSyntaxError, parse, runsql_texts

    sql = getattr(ctx.operation.operation, "sql", None)
    if ctx.generated or sql is None:
        return False
    try:
        nodes = [s.node for text in runsql_texts(sql) for s in parse(text)]
    except SQLSyntaxError:
        return False
    return any(
        isinstance(n, ast.ViewStmt) and n.view is not None and n.view.relname == table
        for n in nodes
    )
