"""SO106 state-only-removal: a field or model leaves the state, its column or table stays.

## What it does
Reports ``SeparateDatabaseAndState`` whose ``state_operations`` remove a
field (``RemoveField``) or a model (``DeleteModel``) that nothing in the
migration drops from the database: a reminder (severity info) to drop it in
a post-deploy migration. It is an error when the kept column is NOT NULL
without a database default and nothing makes it nullable: the new code
stops sending the column, so every INSERT fails.

## Why is this bad?
This is the right first half of removing a column or table without
downtime, but the second half is easy to forget: the column or table stays
forever, with its indexes, foreign keys and their locks. A NOT NULL column
the model no longer knows rejects every new row.

## Example
```python
operations = [
    migrations.SeparateDatabaseAndState(
        state_operations=[migrations.RemoveField("order", "legacy_code")],
    ),
]
```

## Use instead
Keep the state-only removal (make the column nullable in its
``database_operations`` if it is NOT NULL), and schedule the drop in a
post-deploy migration (``deploy_phase = "post"``).

## References
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#separatedatabaseandstate
- https://docs.djangoproject.com/en/stable/howto/writing-migrations/#changing-a-manytomanyfield-to-use-a-through-model
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db import migrations
from pglast import ast, enums

from schemaops.checks._data import parsed_statements
from schemaops.columns import insert_may_omit
from schemaops.findings import Finding, Severity
from schemaops.plan import column_for, db_table_for, model_with_column
from schemaops.rules import FinalContext, MigrationContext, OperationContext, Rule
from schemaops.statements import AT, alter_commands, ident


class StateOnlyRemoval(Rule):
    code = "SO106"
    name = "state-only-removal"
    summary = "A field or model leaves the state only: drop it in a post-deploy migration"
    severity = Severity.INFO
    category = "hygiene"

    def check_final(self, ctx: FinalContext) -> Iterator[Finding]:
        cache: dict[tuple[str, str], Dropped] = {}
        for octx in ctx.operations:
            if not isinstance(octx.operation, migrations.SeparateDatabaseAndState):
                continue
            mctx = octx.migration
            key = (mctx.app_label, mctx.name)
            if key not in cache:
                cache[key] = _dropped(mctx)
                _dropped_later(ctx.graph, key, cache[key])
            for state_op in octx.operation.state_operations:
                yield from self._check(octx, state_op, cache[key], ctx.state)

    def _check(
        self, ctx: OperationContext, op: Any, dropped: Dropped, final: Any
    ) -> Iterator[Finding]:
        if isinstance(op, migrations.RemoveField):
            model = ctx.step.state_models.get((ctx.app_label, op.model_name_lower))
            field = model.fields.get(op.name) if model else None
            if model is None or field is None:
                return
            if getattr(field, "many_to_many", False):
                return  # the through table: left to the developer, it may be reused
            table, column = model.db_table, column_for(op.name, field)
            if (table, column) in dropped.columns or table in dropped.tables:
                return
            if model_with_column(final, table, column) is not None:
                return  # another model (a move between apps) owns the column now
            what = f"{model.name}.{op.name} (column {table}.{column})"
            sql = f"ALTER TABLE {ident(table)} DROP COLUMN IF EXISTS {ident(column)}"
            breaks = not insert_may_omit(field)
            breaks = breaks and (table, column) not in dropped.nullable
            breaks = breaks and (table, column) not in ctx.migration.facts.relaxed
            later = (ctx.app_label, op.model_name_lower, op.name_lower) in dropped.later_fields
            later = later or (table, column) in dropped.later_columns
            if later and not breaks:
                return
            fix = f"ALTER TABLE {ident(table)} ALTER COLUMN {ident(column)} DROP NOT NULL"
            yield self._finding(
                ctx, what, sql, f"drop_{model.name.lower()}_{op.name}", fix if breaks else None
            )
        elif isinstance(op, migrations.DeleteModel):
            model = ctx.step.state_models.get((ctx.app_label, op.name_lower))
            if model is None or model.db_table in dropped.tables:
                return
            if _owns_table(final, model.db_table):
                return  # the model moved: another app's model uses the same table
            if (ctx.app_label, op.name_lower) in dropped.later_models:
                return
            if model.db_table in dropped.later_tables:
                return
            what = f"{model.name} (table {model.db_table})"
            sql = f"DROP TABLE IF EXISTS {ident(model.db_table)}"
            yield self._finding(ctx, what, sql, f"drop_{model.name.lower()}", None)

    def _finding(
        self, ctx: OperationContext, what: str, sql: str, name: str, fix: str | None
    ) -> Finding:
        recipe = _post_deploy_drop(ctx, sql, name)
        message = f"SeparateDatabaseAndState removes {what} from the state only; "
        if fix:
            message += (
                "the column stays NOT NULL without a default, so the new code's INSERTs fail: "
                "make it nullable in database_operations, and drop it post-deploy"
            )
            recipe = (
                f"# 1. in this SeparateDatabaseAndState, make the column nullable: add "
                f"migrations.RunSQL({fix!r}) to its database_operations\n"
                f"# 2. post-deploy, drop it:\n{recipe}"
            )
            return self.finding(ctx, message, recipe=recipe, severity=Severity.ERROR)
        return self.finding(ctx, message + "drop it in a post-deploy migration", recipe=recipe)


def _post_deploy_drop(ctx: OperationContext, sql: str, name: str) -> str:
    """A post-deploy migration after this one running ``sql``: a module from the
    planner's writer (Django's MigrationWriter)."""
    from schemaops.remedy.writer import migration_module

    mig = ctx.migration
    module = f"XXXX_{name}"
    drop = migrations.RunSQL(sql, reverse_sql=migrations.RunSQL.noop)
    code = migration_module(mig.app_label, module, [drop], [(mig.app_label, mig.name)], post=True)
    return f"# {mig.app_label}/migrations/{module}.py\n{code}"


class Dropped:
    """Columns and tables this migration drops or makes nullable in the database."""

    def __init__(self) -> None:
        self.columns: set[tuple[str, str]] = set()
        self.nullable: set[tuple[str, str]] = set()
        self.tables: set[str] = set()
        # dropped by a later migration (the post-deploy half already exists)
        self.later_columns: set[tuple[str, str]] = set()
        self.later_tables: set[str] = set()
        self.later_fields: set[tuple[str, str, str]] = set()
        self.later_models: set[tuple[str, str]] = set()


def _dropped(ctx: MigrationContext) -> Dropped:
    out = Dropped()
    for octx in ctx.operations:
        if octx.step.parent is None and isinstance(
            octx.operation, migrations.SeparateDatabaseAndState
        ):
            continue
        op, before = octx.operation, octx.before
        if isinstance(op, migrations.RemoveField) and before is not None:
            field = before.fields.get(op.name)
            if field is not None:
                out.columns.add((before.db_table, column_for(op.name, field)))
        elif isinstance(op, migrations.DeleteModel) and before is not None:
            out.tables.add(before.db_table)
        elif isinstance(op, migrations.AlterField) and before is not None and _relaxes(op.field):
            field = before.fields.get(op.name)
            if field is not None:
                out.nullable.add((before.db_table, column_for(op.name, field)))
    for stmt in ctx.statements:
        _read_statement(stmt.node, out)
    return out


def _relaxes(field: Any) -> bool:
    """INSERTs may leave the column out: nullable, a database default, generated."""
    return insert_may_omit(field)


def _owns_table(state: Any, table: str) -> bool:
    return any(
        db_table_for(m.app_label, m.name, m.options) == table and m.options.get("managed", True)
        for m in state.models.values()
    )


def _read_statement(node: Any, out: Dropped) -> None:
    if isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_TABLE:
        out.tables.update(str(parts[-1].sval) for parts in node.objects or ())
    for table, cmd in alter_commands(node):
        if cmd.subtype == AT.AT_DropColumn:
            out.columns.add((str(table), str(cmd.name)))
        elif cmd.subtype == AT.AT_DropNotNull or (
            cmd.subtype == AT.AT_ColumnDefault and cmd.def_ is not None
        ):
            out.nullable.add((str(table), str(cmd.name)))


def _dropped_later(graph: Any, key: tuple[str, str], out: Dropped) -> None:
    """What the migrations that come after ``key`` drop in the database."""
    for later in graph.backwards_plan(key):
        if later == key:
            continue
        app = later[0]
        for op in _database_operations(graph.nodes[later].operations):
            if isinstance(op, migrations.RemoveField):
                out.later_fields.add((app, op.model_name_lower, op.name_lower))
            elif isinstance(op, migrations.DeleteModel):
                out.later_models.add((app, op.name_lower))
            elif isinstance(op, migrations.RunSQL):
                later_sql = Dropped()
                for node in parsed_statements(op.sql) or ():
                    _read_statement(node, later_sql)
                out.later_columns |= later_sql.columns
                out.later_tables |= later_sql.tables


def _database_operations(operations: Iterable[Any]) -> Iterator[Any]:
    for op in operations:
        if isinstance(op, migrations.SeparateDatabaseAndState):
            yield from _database_operations(op.database_operations)
        else:
            yield op
