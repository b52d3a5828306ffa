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

from schemaops.checks._lockmap_ops import leaves_text_family, like_index
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.remedy.sql import fix_hint, statement_recipe
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.stats.model import Step


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
        message = _index_build(ctx)
        if message is not None:
            yield self._blocks_writes(ctx, ctx.table, message, _hint(ctx))

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        table = str(node.relation.relname)
        if node.concurrent or ctx.is_new_table(table) or node.unique:
            return  # unique indexes are add-unique-constraint's business
        if table in ctx.migration.facts.partitions:
            return  # index-on-partitioned-table (SO222)
        name = node.idxname or "the index"
        message = f"CREATE INDEX {name} on {table} without CONCURRENTLY blocks writes"
        yield self._blocks_writes(ctx, table, message, statement_recipe(ctx.sql) or HINT)

    def _blocks_writes(
        self, ctx: OperationContext | StatementContext, table: str, message: str, recipe: str
    ) -> Finding:
        """The finding: ``message``, SHARE on ``table`` for the whole build, ``recipe``."""
        return self.finding(
            ctx,
            message,
            lock=Lock.SHARE.on(table, "for the whole index build"),
            blocking=BlockingStep(Step.INDEX_BUILD, table),
            recipe=recipe,
        )


def _index_build(ctx: OperationContext) -> str | None:
    """What the operation builds without CONCURRENTLY, as the finding says it; None when
    it builds no index."""
    op = ctx.operation
    if isinstance(op, migrations.AddIndex):
        return f"AddIndex builds {op.index.name} on {ctx.table} without CONCURRENTLY"
    if isinstance(op, migrations.AlterIndexTogether):
        return _together(ctx, op)
    before = ctx.field_before(op.name) if isinstance(op, migrations.AlterField) else None
    if (
        before is not None
        and like_index(ctx, op.field)
        and not creates_plain_index(op.field, before)
    ):
        return _like_rebuilt(ctx, before)
    if not creates_plain_index(op.field, before):
        return None
    twin = " (and its _like twin)" if like_index(ctx, op.field) else ""
    return (
        f"{type(op).__name__} {ctx.model_name}.{op.name} builds an index{twin} on "
        f"{ctx.table} without CONCURRENTLY"
    )


def _like_rebuilt(ctx: OperationContext, before: Any) -> str | None:
    """An indexed text column that changes type family (varchar -> text, text ->
    varchar, citext -> text): Django drops its ``_like`` index and builds it again,
    without CONCURRENTLY, on the existing table. Widening a varchar stays silent:
    Django then runs only ALTER COLUMN TYPE and keeps the index."""
    op = ctx.operation
    if not leaves_text_family(ctx, before, op.field):
        return None
    return (
        f"AlterField {ctx.model_name}.{op.name} drops the _like index of {ctx.table} and "
        "builds it again without CONCURRENTLY (the column changes text type)"
    )


def _together(ctx: OperationContext, op: Any) -> str | None:
    """The ``index_together`` groups ``op`` adds (None: none)."""
    before = ctx.before.options if ctx.before else {}
    old = {tuple(t) for t in (before.get("index_together") or ())}
    added = sorted({tuple(t) for t in (op.option_value or ())} - old)
    if not added:
        return None
    groups = ", ".join("(" + ", ".join(a) + ")" for a in added)
    return (
        f"AlterIndexTogether {ctx.model_name} {groups} builds an index on {ctx.table} "
        "without CONCURRENTLY"
    )


HINT = "Build the index CONCURRENTLY, in a migration with atomic = False"


def _hint(ctx: OperationContext) -> str:
    return fix_hint(ctx.app_label, ctx.migration.name, HINT)


def has_plain_index(field: Any) -> bool:
    """Does Django give this field a non-unique index of its own?"""
    if field is None or getattr(field, "primary_key", False) or getattr(field, "unique", False):
        return False
    if getattr(field, "many_to_many", False):
        return False
    return bool(getattr(field, "db_index", False))


def creates_plain_index(after: Any, before: Any | None) -> bool:
    """True when going from ``before`` (None: new column) to ``after`` builds an index."""
    return has_plain_index(after) and not has_plain_index(before)
