"""SO222 index-on-partitioned-table: an index built on a partitioned table in one statement.

## What it does
Flags ``CREATE INDEX`` (and ``AddIndex``) on a partitioned table, one made by
``CREATE TABLE ... PARTITION BY`` in a ``RunSQL`` of the project's history,
unless it is ``CREATE INDEX ... ON ONLY``. With ``CONCURRENTLY`` the statement
fails; without it the index is built on every partition in one transaction.

## Why is this bad?
PostgreSQL cannot build an index on a partitioned table ``CONCURRENTLY``
(``cannot create index on partitioned table ... concurrently``): the
migration fails, so the usual fix for a blocking index build does not apply.
A plain ``CREATE INDEX`` recurses into every partition and holds SHARE on
each one until the last is built: writes to the whole table wait.

## Example
```python
migrations.RunSQL("CREATE INDEX event_at_idx ON event (at)")  # event is PARTITION BY RANGE (at)
```

## Use instead
Create the parent's index ``ON ONLY`` the partitioned table (instant; it is
invalid until every partition has one), build each partition's index
``CONCURRENTLY`` in a migration with ``atomic = False``, and attach each one:
``ALTER INDEX parent_idx ATTACH PARTITION partition_idx``. The parent index
becomes valid when the last partition's index is attached.

## References
- https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE
- https://www.postgresql.org/docs/current/sql-createindex.html
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations

from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext


class IndexOnPartitionedTable(Rule):
    code = "SO222"
    name = "index-on-partitioned-table"
    summary = "An index on a partitioned table is built in one statement"
    category = "locking"
    operations = (migrations.AddIndex,)  # AddIndexConcurrently is a subclass
    statements = ("IndexStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        partitions = ctx.migration.facts.partitions.get(ctx.table)
        if partitions is None or ctx.new_table:
            return
        op = ctx.operation
        yield self._finding(
            ctx, ctx.table, op.index.name, partitions, isinstance(op, AddIndexConcurrently)
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        table = str(node.relation.relname)
        partitions = ctx.migration.facts.partitions.get(table)
        if partitions is None or ctx.is_new_table(table) or not node.relation.inh:
            return  # not partitioned, created here, or ON ONLY (the safe first step)
        name = node.idxname or f"{table}_idx"
        yield self._finding(ctx, table, name, partitions, bool(node.concurrent))

    def _finding(
        self,
        ctx: OperationContext | StatementContext,
        table: str,
        name: str,
        partitions: list[str],
        concurrent: bool,
    ) -> Finding:
        if concurrent:
            why = "CREATE INDEX CONCURRENTLY is not supported on a partitioned table: it fails"
        else:
            why = (
                f"the index is built on its {len(partitions) or 'every'} partition(s) in one "
                "transaction, each under SHARE: writes wait until the last one is built"
            )
        return self.finding(  # the remedy (ON ONLY, each partition CONCURRENTLY) is the planner's
            ctx,
            f"index {name} on partitioned table {table}: {why}",
            lock=None if concurrent else Lock.SHARE.on(table, "and on every partition"),
        )
