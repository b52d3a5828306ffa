"""SO201 add-index-non-concurrently: an index is built while writes wait.

## What it does
Flags index builds on an existing table that do not use ``CONCURRENTLY``:
``AddIndex``, ``AddField``/``AlterField`` with ``db_index=True`` or a new
``ForeignKey`` (Django indexes foreign keys; a ``CharField``/``TextField``
gets a second ``_like`` index with ``varchar_pattern_ops`` too), new
``index_together`` entries (``AlterIndexTogether`` in old migrations), and
``CREATE INDEX`` in ``RunSQL``. Tables created earlier in the same migration
are exempt.

## Why is this bad?
``CREATE INDEX`` takes a SHARE lock on the table for the whole build: reads
go on, but every INSERT, UPDATE and DELETE waits until the index is built,
minutes on a large table.

## Example
```python
index = models.Index(fields=["created"], name="order_created_idx")
operations = [migrations.AddIndex("order", index)]
```

## Use instead
``AddIndexConcurrently`` (``django.contrib.postgres.operations``) in a
migration with ``atomic = False``. It takes SHARE UPDATE EXCLUSIVE, which
lets reads and writes go on.

## References
- https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
- https://docs.djangoproject.com/en/stable/ref/contrib/postgres/operations/#concurrent-index-operations
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations

from schemaops.checks._indexes import creates_plain_index, index_code, index_name
from schemaops.checks._lockmap_ops import column_type, like_index
from schemaops.checks._lockrecipes import (
    Code,
    column_list,
    columns_of,
    django_name,
    run_sql,
    separate,
    variant,
)
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.remedy.code import django_kind, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import ident
from schemaops.stats.model import Step

IMPORTS = (
    "from django.contrib.postgres.operations import AddIndexConcurrently\n"
    "from django.db import migrations, models"
)


class AddIndexNonConcurrently(Rule):
    code = "SO201"
    name = "add-index-non-concurrently"
    summary = "An index is built without CONCURRENTLY, blocking writes"
    category = "locking"
    operations = (
        migrations.AddIndex,
        migrations.AddField,
        migrations.AlterField,
        migrations.AlterIndexTogether,
    )
    statements = ("IndexStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if ctx.new_table or isinstance(op, AddIndexConcurrently):
            return
        if isinstance(op, migrations.AddIndex) and ctx.table in ctx.migration.facts.partitions:
            return  # index-on-partitioned-table (SO222): CONCURRENTLY is no fix there
        lock = Lock.SHARE.on(ctx.table, "for the whole index build")
        if isinstance(op, migrations.AddIndex):
            yield self.finding(
                ctx,
                f"AddIndex builds {op.index.name} on {ctx.table} without CONCURRENTLY",
                lock=lock,
                blocking=BlockingStep(Step.INDEX_BUILD, ctx.table),
                recipe=migration_code(
                    ctx,
                    [f'AddIndexConcurrently("{op.model_name}", {index_code(op.index)}),'],
                    atomic=False,
                    name=f"{op.index.name}_concurrently",
                    imports=IMPORTS,
                ),
            )
            return
        if isinstance(op, migrations.AlterIndexTogether):
            yield from self._together(ctx, op, lock)
            return
        before = ctx.field_before(op.name) if isinstance(op, migrations.AlterField) else None
        if not creates_plain_index(op.field, before):
            return
        twin = " (and its _like twin)" if like_index(ctx, op.field) else ""
        yield self.finding(
            ctx,
            f"{type(op).__name__} {ctx.model_name}.{op.name} builds an index{twin} on "
            f"{ctx.table} without CONCURRENTLY",
            lock=lock,
            blocking=BlockingStep(Step.INDEX_BUILD, ctx.table),
            recipe=self._field_recipe(ctx, op),
        )

    def _together(self, ctx: OperationContext, op: Any, lock: str) -> Iterator[Finding]:
        before = ctx.before.options if ctx.before else {}
        old = {tuple(t) for t in (before.get("index_together") or ())}
        added = sorted({tuple(t) for t in (op.option_value or ())} - old)
        if not added:
            return
        code, builds = Code(), []
        for fields in added:
            columns = columns_of(ctx.after, fields)
            name = django_name(ctx.table, columns, "_idx")
            builds.append(
                run_sql(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ident(name)} ON "
                    f"{ident(ctx.table)} ({column_list(columns)})",
                    f"DROP INDEX CONCURRENTLY IF EXISTS {ident(name)}",
                )
            )
        groups = ", ".join("(" + ", ".join(a) + ")" for a in added)
        yield self.finding(
            ctx,
            f"AlterIndexTogether {ctx.model_name} {groups} builds an index on {ctx.table} "
            "without CONCURRENTLY",
            lock=lock,
            blocking=BlockingStep(Step.INDEX_BUILD, ctx.table),
            recipe=migration_code(
                ctx,
                [separate([code.op(op)], builds)],
                atomic=False,
                name=f"{ctx.model_name.lower()}_index_together",
                imports=code.header(),
            ),
        )

    def _field_recipe(self, ctx: OperationContext, op: Any) -> str:
        column = ctx.column(op.name, op.field)
        name = index_name(ctx.table, column)
        code = Code()
        kind = django_kind(op)
        db_field = code.field(op.field, db_index=False)
        first = migration_code(
            ctx,
            [
                separate(
                    [code.op(op)],
                    [f'migrations.{kind}("{op.model_name}", "{op.name}", {db_field}),'],
                )
            ],
            name=f"{op.model_name}_{op.name}",
            imports=code.header(),
        )
        builds = [
            run_sql(
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ident(name)} "
                f"ON {ident(ctx.table)} ({ident(column)})",
                f"DROP INDEX CONCURRENTLY IF EXISTS {ident(name)}",
            )
        ]
        if like_index(ctx, op.field):
            like = index_name(ctx.table, column, "_like")
            opclass = f"{column_type(ctx, op.field).name}_pattern_ops"
            builds.append(
                run_sql(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ident(like)} "
                    f"ON {ident(ctx.table)} ({ident(column)} {opclass})",
                    f"DROP INDEX CONCURRENTLY IF EXISTS {ident(like)}",
                )
            )
        second = migration_code(
            ctx,
            builds,
            atomic=False,
            name=f"{op.model_name}_{op.name}_index",
            after=f"{op.model_name}_{op.name}",
        )
        return f"{first}\n\n# then, in the next migration:\n{second}"

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        table = str(node.relation.relname)
        if node.concurrent or ctx.is_new_table(table) or node.unique:
            return  # unique indexes are add-unique-constraint's business
        if table in ctx.migration.facts.partitions:
            return  # index-on-partitioned-table (SO222)
        name = node.idxname or "the index"
        yield self.finding(
            ctx,
            f"CREATE INDEX {name} on {table} without CONCURRENTLY blocks writes",
            lock=Lock.SHARE.on(table, "for the whole index build"),
            blocking=BlockingStep(Step.INDEX_BUILD, table),
            recipe=migration_code(
                ctx.operation,
                [run_sql(variant(node, concurrent=True, if_not_exists=bool(node.idxname)))],
                atomic=False,
                name=f"{node.idxname or table + '_index'}_concurrently",
            ),
        )
