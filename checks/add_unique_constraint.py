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

from django.db import migrations, models
from pglast import ast, enums

from schemaops.checks._lockmap_ops import column_type, constraint_kind, like_index
from schemaops.checks._lockrecipes import (
    Code,
    columns_of,
    django_name,
    django_statements,
    run_sql,
    separate,
    unique_index_steps,
    variant,
)
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.remedy.code import django_kind, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints, ident, names
from schemaops.stats.model import Step

BUILD = "for the whole unique index build"


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
        column = ctx.column(op.name, new)
        name = django_name(ctx.table, [column], "_uniq")
        code = Code()
        db_ops = [
            f'migrations.{django_kind(op)}("{op.model_name}", "{op.name}", '
            f"{code.field(new, unique=None)}),"
        ]
        db_ops += unique_index_steps(ctx.table, name, [column])
        if like_index(ctx, new) and not (old is not None and old.db_index):
            like = django_name(ctx.table, [column], "_like")
            opclass = f"{column_type(ctx, new).name}_pattern_ops"
            db_ops.append(
                run_sql(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ident(like)} ON "
                    f"{ident(ctx.table)} ({ident(column)} {opclass})",
                    f"DROP INDEX CONCURRENTLY IF EXISTS {ident(like)}",
                )
            )
        yield self._finding(
            ctx,
            f"{type(op).__name__} {ctx.model_name}.{op.name} (unique=True)",
            db_ops,
            f"{op.model_name}_{op.name}_unique",
            code=code,
        )

    def _constraint(self, ctx: OperationContext, op: Any) -> Iterator[Finding]:
        constraint = op.constraint
        kind = constraint_kind(constraint)
        if kind == "unique":
            columns = columns_of(ctx.after, constraint.fields)
            steps = unique_index_steps(ctx.table, constraint.name, columns)
            if getattr(constraint, "nulls_distinct", None) is False:
                steps[0] = steps[0].replace(") ", ") NULLS NOT DISTINCT ", 1)
            if constraint.deferrable:
                steps[1] = steps[1].replace(
                    f"USING INDEX {ident(constraint.name)}",
                    f"USING INDEX {ident(constraint.name)} DEFERRABLE INITIALLY "
                    + ("DEFERRED" if constraint.deferrable.name == "DEFERRED" else "IMMEDIATE"),
                    1,
                )
            what = f"AddConstraint {constraint.name} (UNIQUE on {', '.join(columns)})"
            yield self._finding(ctx, what, steps, constraint.name)
        elif kind == "unique-index":
            steps = [
                run_sql(sql, f"DROP INDEX CONCURRENTLY IF EXISTS {ident(constraint.name)}")
                for sql in _concurrent_index_sql(ctx, constraint)
            ]
            what = f"AddConstraint {constraint.name} (a unique index)"
            yield self._finding(ctx, what, steps, constraint.name, lock=Lock.SHARE)

    def _together(self, ctx: OperationContext, op: Any) -> Iterator[Finding]:
        before = ctx.before.options if ctx.before else {}
        old = {tuple(t) for t in (before.get("unique_together") or ())}
        new = {tuple(t) for t in (op.option_value or ())}
        added = sorted(new - old)
        if not added:
            return
        steps = []
        for fields in sorted(old - new):
            name = django_name(ctx.table, columns_of(ctx.before, fields), "_uniq")
            steps.append(
                run_sql(f"ALTER TABLE {ident(ctx.table)} DROP CONSTRAINT IF EXISTS {ident(name)}")
            )
        for fields in added:
            columns = columns_of(ctx.after, fields)
            steps += unique_index_steps(
                ctx.table, django_name(ctx.table, columns, "_uniq"), columns
            )
        groups = ", ".join("(" + ", ".join(a) + ")" for a in added)
        what = f"AlterUniqueTogether {ctx.model_name} {groups}"
        yield self._finding(ctx, what, steps, f"{ctx.model_name.lower()}_unique_together")

    def _finding(
        self,
        ctx: OperationContext,
        what: str,
        db_ops: list[str],
        name: str,
        lock: Lock = Lock.ACCESS_EXCLUSIVE,
        code: Code | None = None,
    ) -> Finding:
        code = code or Code()
        blocked = "reads and writes wait" if lock is Lock.ACCESS_EXCLUSIVE else "writes wait"
        return self.finding(
            ctx,
            f"{what} builds a unique index on {ctx.table} under {lock.value}: {blocked} "
            "for the whole build",
            lock=lock.on(ctx.table, BUILD),
            blocking=BlockingStep(Step.INDEX_BUILD, ctx.table),
            recipe=migration_code(
                ctx,
                [separate([code.op(ctx.operation)], db_ops)],
                atomic=False,
                name=name,
                imports=code.header(),
            ),
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
        steps = unique_index_steps(table, name, columns)
        return self.finding(
            ctx,
            f"ADD CONSTRAINT {name} UNIQUE ({', '.join(columns)}) builds a unique index on "
            f"{table} under ACCESS EXCLUSIVE: reads and writes wait for the whole build",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, BUILD),
            blocking=BlockingStep(Step.INDEX_BUILD, table),
            recipe=migration_code(ctx.operation, steps, atomic=False, name=f"{name}_concurrently"),
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
            recipe=migration_code(
                ctx.operation,
                [run_sql(variant(node, concurrent=True, if_not_exists=bool(node.idxname)))],
                atomic=False,
                name=f"{name}_concurrently".replace(" ", "_"),
            ),
        )


def _inline_unique(coldef: Any) -> bool:
    return any(c.contype == CONSTR.CONSTR_UNIQUE for c in column_constraints(coldef))


def _concurrent_index_sql(ctx: OperationContext, constraint: models.UniqueConstraint) -> list[str]:
    """Django's own CREATE UNIQUE INDEX for the constraint, made CONCURRENTLY."""
    nodes = django_statements(ctx, lambda model, editor: constraint.create_sql(model, editor))
    out = [
        variant(n, concurrent=True, if_not_exists=True)
        for n in nodes
        if isinstance(n, ast.IndexStmt)
    ]
    return out or [
        f"-- CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {ident(constraint.name)} ON "
        f"{ident(ctx.table)} (...) WHERE ...  (see `sqlmigrate` for Django's definition)"
    ]
