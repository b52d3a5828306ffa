"""SO303 data-change-with-schema-change: data and DDL locks held in one transaction.

## What it does
Flags an atomic migration that changes data (``RunPython``, or ``UPDATE``,
``DELETE``, ``INSERT`` in ``RunSQL``) and also changes the schema of a table
that existed before it (any operation that reaches the database: add,
alter, remove, index, constraint, rename, or DDL in ``RunSQL``). Tables
created in the same migration and non-atomic migrations are exempt.

## Why is this bad?
One transaction holds every lock until it commits. The DDL's lock (ACCESS
EXCLUSIVE for most ``ALTER TABLE``, SHARE for ``CREATE INDEX``) is kept for
the whole data change, so the table stays blocked for reads and writes
while rows are rewritten; and the row locks of the data change are kept
while the DDL waits for its lock. A long data change also holds back VACUUM
and replication.

## Example
```python
operations = [
    migrations.AddField("order", "total_cents", models.BigIntegerField(null=True)),
    migrations.RunPython(fill_total_cents),
]
```

## Use instead
Keep the schema change in the migration and run the data change after it
with ``schemaops backfill``, in small committed batches: a ``Backfill``
class on the model the ``RunPython`` fetches (named from the migration's
state), or ``--set``/``--where`` for a plain ``UPDATE``.

## References
- https://docs.djangoproject.com/en/stable/howto/writing-migrations/#non-atomic-migrations
- https://github.com/kaaveland/eugene (E4: statements run while holding ACCESS EXCLUSIVE)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations
from pglast import ast, enums

from schemaops.checks._data import changes_database, dml_target, models_touched
from schemaops.checks._lockmap import StateSchema, operation_locks, statement_locks
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import MigrationContext, OperationContext, Rule, StatementContext
from schemaops.statements import relname

NOT_IN_DATABASE = (
    migrations.RunPython,
    migrations.RunSQL,
    migrations.SeparateDatabaseAndState,
    migrations.AlterModelOptions,
    migrations.AlterModelManagers,
)
DDL = {
    ast.AlterTableStmt: "ALTER TABLE",
    ast.IndexStmt: "CREATE INDEX",
    ast.DropStmt: "DROP TABLE",
    ast.RenameStmt: "RENAME",
    ast.TruncateStmt: "TRUNCATE",
    ast.CreateTrigStmt: "CREATE TRIGGER",
}


class DataChangeWithSchemaChange(Rule):
    code = "SO303"
    name = "data-change-with-schema-change"
    summary = "A data change runs in the same transaction as a schema change"
    category = "locking"

    def check_migration(self, ctx: MigrationContext) -> Iterator[Finding]:
        if not ctx.atomic:
            return
        data = [o for o in ctx.operations if _is_data(o)] + [
            s.operation for s in ctx.statements if _is_dml(s)
        ]
        if not data:
            return  # most migrations: no need to ask the lock map about their schema changes
        changed = _strongest_schema_change(ctx)
        if changed is None:
            return
        first_data = min(data, key=_order)
        ddl_op, (table, lock, label) = changed
        if _order(ddl_op) < _order(first_data):
            why = f"its {lock.value} lock on {table} is held for the whole data change"
        else:
            why = f"the data change's row locks are held while it waits for {lock.value}"
        yield self.finding(
            first_data,
            f"{ctx.app_label}.{ctx.name} changes data ({_label(first_data)}) and the schema of "
            f"{table} ({label}) in one transaction: {why}",
            lock=lock.on(table, "until the data change commits"),
            recipe=_recipe(ctx, first_data),
        )


def _recipe(ctx: MigrationContext, data: OperationContext) -> str:
    """Take the data change out of the migration: a backfill after the pre-deploy step,
    on the model the RunPython fetches (named from the state), never guessed."""
    op = data.operation
    after = "after `schemaops migrate --phase pre`"
    if not isinstance(op, migrations.RunPython):
        return (
            "remove the data change from this migration (it keeps only the schema change); "
            f"{after}, run it as `schemaops backfill start <app>.<Model> --set ... --where ...`"
        )
    name = getattr(op.code, "__name__", "the function")
    found = models_touched(op.code, ctx.state)
    target = (
        f'on {found[0][0]}.{found[0][1]} (`model = "{found[0][0]}.{found[0][1]}"`)'
        if len(found) == 1
        else "on the model it updates (schemaops cannot tell which: it fetches "
        + (", ".join(f"{a}.{m}" for a, m in found) or "no model it can name")
        + ")"
    )
    return (
        f"remove RunPython({name}) from this migration (it keeps only the schema change, or "
        "a `migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)` "
        f"marker); move its work into a schemaops Backfill class {target} in "
        f"<app>/backfills.py (`process(batch)`: one key range) and, {after}, run "
        "`schemaops backfill start <app>.<Class> --wait`"
    )


def _strongest_schema_change(
    ctx: MigrationContext,
) -> tuple[OperationContext, tuple[str, Lock, str]] | None:
    """The first schema change of an existing table among those holding the strongest
    lock; the lock map is asked only until an ACCESS EXCLUSIVE one is found."""
    found: tuple[OperationContext, tuple[str, Lock, str]] | None = None
    for octx, what in _schema_changes(ctx):
        if found is None or what[1].strength > found[1][1].strength:
            found = (octx, what)
            if what[1] is Lock.ACCESS_EXCLUSIVE:
                break
    return found


def _schema_changes(
    ctx: MigrationContext,
) -> Iterator[tuple[OperationContext, tuple[str, Lock, str]]]:
    """Operations, then RunSQL statements, that change an existing table's schema."""
    for octx in ctx.operations:
        if what := _op_schema(octx):
            yield octx, what
    for sctx in ctx.statements:
        if what := _stmt_schema(sctx):
            yield sctx.operation, what


def _order(octx: OperationContext) -> tuple[int, int]:
    return (_top(octx).index, octx.step.index if octx.step.parent else -1)


def _top(octx: OperationContext) -> Any:
    step = octx.step
    while step.parent is not None:
        step = step.parent
    return step


def _is_data(octx: OperationContext) -> bool:
    op = octx.operation
    return isinstance(op, migrations.RunPython) and op.code is not migrations.RunPython.noop


def _is_dml(sctx: StatementContext) -> bool:
    target = dml_target(sctx.node)
    return target is not None and not sctx.is_new_table(target)


def _label(octx: OperationContext) -> str:
    op = octx.operation
    if isinstance(op, migrations.RunPython):
        return f"RunPython({getattr(op.code, '__name__', 'function')})"
    return "RunSQL"


def _op_schema(octx: OperationContext) -> tuple[str, Lock, str] | None:
    """(table, lock, description) when a Django operation changes an existing table.

    The lock is the lock map's claim on that table (SHARE for AddIndex,
    SHARE UPDATE EXCLUSIVE for ValidateConstraint, ACCESS EXCLUSIVE for most).
    """
    op = octx.operation
    if isinstance(op, NOT_IN_DATABASE) or octx.new_table or octx.before is None:
        return None
    if isinstance(op, migrations.AlterField) and not changes_database(
        octx.field_before(op.name), op.field
    ):
        return None
    lock = _claimed(operation_locks(octx), octx.table)
    if lock is None:
        return None  # nothing reaches the database (a state-only change)
    return octx.table, lock, op.describe()


def _stmt_schema(sctx: StatementContext) -> tuple[str, Lock, str] | None:
    """(table, lock, description) for DDL in RunSQL on an existing table, locked as the
    lock map says (SHARE UPDATE EXCLUSIVE for VALIDATE CONSTRAINT, SHARE ROW EXCLUSIVE
    for CREATE TRIGGER, ...)."""
    node = sctx.node
    if type(node) not in DDL or sctx.generated:
        return None
    table = _ddl_table(node)
    if table is None or sctx.is_new_table(table):
        return None
    pg_version = sctx.migration.target.pg_version
    claims = statement_locks(node, StateSchema(sctx.migration.state, pg_version), pg_version)
    lock = _claimed(claims, table)
    if lock is None:
        return None
    return table, lock, f"{DDL[type(node)]} in RunSQL"


def _claimed(claims: list[tuple[str, Lock, bool]], table: str) -> Lock | None:
    """The strongest lock claimed on ``table`` (an index's own name when its table is
    unknown)."""
    locks = [lock for name, lock, _slow in claims if name == table] or [c[1] for c in claims]
    return max(locks, key=lambda lock: lock.strength) if locks else None


def _ddl_table(node: Any) -> str | None:
    if isinstance(node, ast.DropStmt):
        if node.removeType != enums.ObjectType.OBJECT_TABLE or not node.objects:
            return None
        return str(node.objects[0][-1].sval)
    if isinstance(node, ast.TruncateStmt):
        return relname(node.relations[0]) if node.relations else None
    return relname(getattr(node, "relation", None))
