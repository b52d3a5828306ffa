"""SO203 add-unique-constraint: a unique index is built while the table is locked.

## What it does
Flags uniqueness added to an existing table in a way that builds the index
under a blocking lock: ``unique=True`` on ``AddField``/``AlterField``,
``AddConstraint(UniqueConstraint)``, new ``unique_together`` entries, and in
``RunSQL`` ``ADD CONSTRAINT ... UNIQUE`` (not ``USING INDEX``) and ``CREATE
UNIQUE INDEX`` without ``CONCURRENTLY``.

## Why is this bad?
``ADD CONSTRAINT ... UNIQUE`` builds the index under ACCESS EXCLUSIVE:
reads and writes wait for the whole build. ``CREATE UNIQUE INDEX`` takes
SHARE: writes wait. On a large table that is minutes of downtime. If the
data has duplicates the build fails at the end, after all that waiting.

## Example
```python
operations = [
    migrations.AddConstraint("order", models.UniqueConstraint(fields=["code"], name="uq_code")),
]
```

## Use instead
Build the index with ``CREATE UNIQUE INDEX CONCURRENTLY`` (SHARE UPDATE
EXCLUSIVE: reads and writes go on) in a migration with ``atomic = False``,
then attach it with ``ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING
INDEX``, which only takes a brief ACCESS EXCLUSIVE lock. Keep Django's
state in step with ``SeparateDatabaseAndState``. Deduplicate the data (and
make the running code stop creating duplicates) first.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX
- https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations
from pglast import ast, enums

from schemaops.checks._lockmap_ops import constraint_kind
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.plan import column_for
from schemaops.remedy.sql import fix_hint, statement_recipe
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints, names
from schemaops.stats.model import Step

BUILD = "for the whole unique index build"
HINT = (
    "Build the unique index CONCURRENTLY (atomic = False), then attach it with "
    "ADD CONSTRAINT ... UNIQUE USING INDEX"
)


class AddUniqueConstraint(Rule):
    code = "SO203"
    name = "add-unique-constraint"
    summary = "A unique constraint is built under a lock that blocks writes"
    category = "locking"
    operations = (
        migrations.AddField,
        migrations.AlterField,
        migrations.AddConstraint,
        migrations.AlterUniqueTogether,
    )
    statements = ("AlterTableStmt", "IndexStmt")

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        if ctx.new_table:
            return
        op = ctx.operation
        if isinstance(op, migrations.AddConstraint):
            yield from self._constraint(ctx, op)
        elif isinstance(op, migrations.AlterUniqueTogether):
            yield from self._together(ctx, op)
        else:
            yield from self._field(ctx, op)

    def _field(self, ctx: OperationContext, op: Any) -> Iterator[Finding]:
        old = ctx.field_before(op.name) if isinstance(op, migrations.AlterField) else None
        new = op.field
        if not new.unique or new.primary_key or (old is not None and old.unique):
            return
        yield self._finding(ctx, f"{type(op).__name__} {ctx.model_name}.{op.name} (unique=True)")

    def _constraint(self, ctx: OperationContext, op: Any) -> Iterator[Finding]:
        constraint = op.constraint
        kind = constraint_kind(constraint)
        if kind == "unique":
            columns = _columns(ctx.after, constraint.fields)
            what = f"AddConstraint {constraint.name} (UNIQUE on {', '.join(columns)})"
            yield self._finding(ctx, what)
        elif kind == "unique-index":
            what = f"AddConstraint {constraint.name} (a unique index)"
            yield self._finding(ctx, what, lock=Lock.SHARE)

    def _together(self, ctx: OperationContext, op: Any) -> Iterator[Finding]:
        before = ctx.before.options if ctx.before else {}
        old = {tuple(t) for t in (before.get("unique_together") or ())}
        new = {tuple(t) for t in (op.option_value or ())}
        added = sorted(new - old)
        if not added:
            return
        groups = ", ".join("(" + ", ".join(a) + ")" for a in added)
        yield self._finding(ctx, f"AlterUniqueTogether {ctx.model_name} {groups}")

    def _finding(
        self, ctx: OperationContext, what: str, lock: Lock = Lock.ACCESS_EXCLUSIVE
    ) -> Finding:
        blocked = "reads and writes wait" if lock is Lock.ACCESS_EXCLUSIVE else "writes wait"
        return self.finding(
            ctx,
            f"{what} builds a unique index on {ctx.table} under {lock.value}: {blocked} "
            "for the whole build",
            lock=lock.on(ctx.table, BUILD),
            blocking=BlockingStep(Step.INDEX_BUILD, ctx.table),
            recipe=fix_hint(ctx.app_label, ctx.migration.name, HINT),
        )

    # -- SQL -------------------------------------------------------------------------

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        if isinstance(node, ast.IndexStmt):
            yield from self._create_index(ctx, node)
            return
        for table, cmd in alter_commands(node):
            if ctx.is_new_table(table):
                continue
            if cmd.subtype == enums.AlterTableType.AT_AddConstraint:
                con = cmd.def_
                if con.contype == CONSTR.CONSTR_UNIQUE and not con.indexname:
                    yield self._sql_constraint(ctx, str(table), con)
            elif cmd.subtype == enums.AlterTableType.AT_AddColumn and _inline_unique(cmd.def_):
                yield self.finding(
                    ctx,
                    f"ADD COLUMN {cmd.def_.colname} ... UNIQUE builds a unique index on "
                    f"{table} under ACCESS EXCLUSIVE",
                    lock=Lock.ACCESS_EXCLUSIVE.on(str(table), BUILD),
                    blocking=BlockingStep(Step.INDEX_BUILD, str(table)),
                    recipe="Add the column without UNIQUE, then build the index with "
                    "CREATE UNIQUE INDEX CONCURRENTLY (atomic = False) and attach it with "
                    "ADD CONSTRAINT ... UNIQUE USING INDEX.",
                )

    def _sql_constraint(self, ctx: StatementContext, table: str, con: Any) -> Finding:
        columns = names(con.keys)
        name = con.conname or f"{table}_{'_'.join(columns)}_key"
        return self.finding(
            ctx,
            f"ADD CONSTRAINT {name} UNIQUE ({', '.join(columns)}) builds a unique index on "
            f"{table} under ACCESS EXCLUSIVE: reads and writes wait for the whole build",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, BUILD),
            blocking=BlockingStep(Step.INDEX_BUILD, table),
            recipe=statement_recipe(ctx.sql) or HINT,
        )

    def _create_index(self, ctx: StatementContext, node: Any) -> Iterator[Finding]:
        table = str(node.relation.relname)
        if not node.unique or node.concurrent or ctx.is_new_table(table):
            return
        name = node.idxname or "the index"
        yield self.finding(
            ctx,
            f"CREATE UNIQUE INDEX {name} on {table} without CONCURRENTLY: writes wait for the "
            "whole build",
            lock=Lock.SHARE.on(table, BUILD),
            blocking=BlockingStep(Step.INDEX_BUILD, table),
            recipe=statement_recipe(ctx.sql) or HINT,
        )


def _inline_unique(coldef: Any) -> bool:
    return any(c.contype == CONSTR.CONSTR_UNIQUE for c in column_constraints(coldef))


def _columns(snapshot: Any, fields: Any) -> list[str]:
    """Column names of model fields given by name."""
    return [column_for(name, snapshot.fields[name]) for name in fields if name in snapshot.fields]
