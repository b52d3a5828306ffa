"""SO117 view-dependency: a change to a column or table that a view reads.

## What it does
Knows the views and materialized views that ``RunSQL`` created in the
project's history (``CREATE [OR REPLACE] VIEW``, ``CREATE MATERIALIZED
VIEW``) and what they read, and flags, in either phase:

- ``RemoveField`` and ``DeleteModel``: Django drops with ``CASCADE``, so
  the views reading the column or table silently disappear;
- ``AlterField`` that changes the column's type, and ``ALTER COLUMN ... TYPE``
  in ``RunSQL``: PostgreSQL refuses (``cannot alter type of a column used by
  a view or rule``) and the migration fails;
- ``DROP COLUMN`` / ``DROP TABLE`` in ``RunSQL``: without ``CASCADE`` it
  fails, with it the views are gone.

## Why is this bad?
A view is part of the schema the code (or a report, or a replica consumer)
relies on, but Django's state does not know it. Django's ``CASCADE`` drops
it without a word; a type change fails in the middle of a deploy.

## Example
```python
operations = [
    migrations.RunSQL("CREATE VIEW order_codes AS SELECT id, code FROM shop_order"),
    # ... later
    migrations.RemoveField("order", "code"),  # DROP COLUMN code CASCADE: order_codes is gone
]
```

## Use instead
Drop or redefine the view first, in the same migration, with ``RunSQL``
(``DROP VIEW`` / ``CREATE OR REPLACE VIEW`` without the column), then change
the column, then re-create the view if it is still wanted.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html (``DROP COLUMN ... CASCADE``)
- https://www.postgresql.org/docs/current/ddl-depend.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations
from pglast import ast, enums

from schemaops.catalog import join_table
from schemaops.checks._lockmap_ops import column_type
from schemaops.dbfacts import DatabaseFacts
from schemaops.findings import Finding
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import AT, alter_commands

RECIPE = (
    "Drop or redefine the view(s) first in this migration (RunSQL: DROP VIEW ... / CREATE OR "
    "REPLACE VIEW ... without the column), change the column, then re-create the view(s)."
)


class ViewDependency(Rule):
    code = "SO117"
    name = "view-dependency"
    summary = "A column or table a view reads is dropped (CASCADE) or changes type"
    category = "breaking"
    operations = (migrations.RemoveField, migrations.DeleteModel, migrations.AlterField)
    statements = ("AlterTableStmt", "DropStmt")

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        facts, op = _facts_at(ctx), ctx.operation
        if not facts.views or ctx.new_table or ctx.before is None:
            return
        if isinstance(op, migrations.DeleteModel):
            for table in [ctx.table, *_join_tables(ctx, list(ctx.before.fields))]:
                views = facts.views_using(table)
                yield from self._report(ctx, f"DeleteModel drops {table} with CASCADE", views)
            return
        old = ctx.field_before(op.name)
        if old is None:
            return
        if getattr(old, "many_to_many", False):
            if isinstance(op, migrations.RemoveField):  # Django drops the join table
                for table in _join_tables(ctx, [op.name]):
                    views = facts.views_using(table)
                    what = f"RemoveField drops the many-to-many table {table} with CASCADE"
                    yield from self._report(ctx, what, views)
            return
        column = ctx.column(op.name, old)
        views = facts.views_using(ctx.table, column)
        if isinstance(op, migrations.RemoveField):
            yield from self._report(
                ctx, f"RemoveField drops {ctx.table}.{column} with CASCADE", views
            )
        elif column_type(ctx, old) != column_type(ctx, op.field):
            yield from self._report(
                ctx, f"AlterField changes the type of {ctx.table}.{column}", views, fails=True
            )
        elif getattr(old, "db_collation", None) != getattr(op.field, "db_collation", None):
            # Django changes a collation with ALTER COLUMN ... TYPE ... COLLATE: refused too
            what = f"AlterField changes the collation of {ctx.table}.{column} (ALTER TYPE)"
            yield from self._report(ctx, what, views, fails=True)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        if not ctx.migration.facts.views and not ctx.migration.facts.view_snapshots:
            return
        node = ctx.node
        facts = _facts_at(ctx.operation, node)
        if not facts.views:
            return
        if isinstance(node, ast.DropStmt):
            if node.removeType == enums.ObjectType.OBJECT_TABLE:
                cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
                for parts in node.objects or ():
                    dropped = str(parts[-1].sval)
                    views = facts.views_using(dropped)
                    yield from self._report(ctx, f"DROP TABLE {dropped}", views, fails=not cascade)
            return
        for table, cmd in alter_commands(node):
            if table is None or ctx.is_new_table(table):
                continue
            if cmd.subtype == AT.AT_DropColumn:
                cascade = cmd.behavior == enums.DropBehavior.DROP_CASCADE
                views = facts.views_using(table, str(cmd.name))
                what = f"DROP COLUMN {table}.{cmd.name}"
                yield from self._report(ctx, what, views, fails=not cascade)
            elif cmd.subtype == AT.AT_AlterColumnType:
                views = facts.views_using(table, str(cmd.name))
                what = f"ALTER COLUMN {table}.{cmd.name} TYPE"
                yield from self._report(ctx, what, views, fails=True)

    def _report(
        self,
        ctx: OperationContext | StatementContext,
        what: str,
        views: list[str],
        *,
        fails: bool = False,
    ) -> Iterator[Finding]:
        views = [v for v in views if not (isinstance(ctx, StatementContext) and v in what)]
        if not views:
            return
        listed = ", ".join(sorted(views))
        outcome = (
            "PostgreSQL refuses while a view reads it, so the migration fails"
            if fails
            else f"the view(s) {listed} are dropped with it, silently"
        )
        yield self.finding(ctx, f"{what}, which view(s) {listed} read: {outcome}", recipe=RECIPE)


def _top(step: Any) -> Any:
    while step.parent is not None:
        step = step.parent
    return step


def _facts_at(ctx: OperationContext, node: Any = None) -> DatabaseFacts:
    """The views as they stand when this operation (or its statement ``node``) runs.

    The facts hold the views after the whole migration; a migration that drops a
    view, changes the column and re-creates the view (what the recipe says) must
    be judged on the views of that moment, not on the re-created one.
    """
    facts = ctx.migration.facts
    if not facts.view_snapshots:
        return facts
    top = _top(ctx.step)
    views = facts.views_before(list(ctx.migration.step.migration.operations), top.index)
    earlier = []
    if node is not None:
        for stmt in ctx.migration.statements:
            if stmt.node is node:
                break
            if _top(stmt.operation.step) is top:
                earlier.append(stmt.node)
    return DatabaseFacts.replay_views(views, earlier)


def _join_tables(ctx: OperationContext, names: list[str]) -> list[str]:
    """The auto-created join tables of the many-to-many fields ``names`` of the model."""
    from django.db.migrations.utils import resolve_relation

    owner, out = ctx.before, list[str]()
    if owner is None:
        return out
    for name in names:
        field = owner.fields.get(name)
        if field is None or not getattr(field, "many_to_many", False):
            continue
        key = resolve_relation(field.remote_field.model, ctx.app_label, owner.name.lower())
        join = join_table(owner, name, field, ctx.migration.state.models.get(key))
        if join is not None:
            out.append(join.table)
    return out
