"""SO216 detach-partition-non-concurrently: DETACH PARTITION locks the partitioned table.

## What it does
Flags ``ALTER TABLE ... DETACH PARTITION`` without ``CONCURRENTLY`` in
``RunSQL`` when the target PostgreSQL is 14 or newer.

## Why is this bad?
A plain ``DETACH PARTITION`` takes ACCESS EXCLUSIVE on the partitioned
table and the partition: every query on any partition waits for it, and it
waits for every running query on them.

## Example
```python
operations = [migrations.RunSQL("ALTER TABLE events DETACH PARTITION events_2023")]
```

## Use instead
``DETACH PARTITION ... CONCURRENTLY`` (PostgreSQL 14+) in a migration with
``atomic = False``: it takes SHARE UPDATE EXCLUSIVE. It cannot be used when
the table has a default partition.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import Rule, StatementContext
from schemaops.statements import alter_commands, relname


class DetachPartitionNonConcurrently(Rule):
    code = "SO216"
    name = "detach-partition-non-concurrently"
    summary = "DETACH PARTITION without CONCURRENTLY locks the partitioned table"
    category = "locking"
    statements = ("AlterTableStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        if ctx.migration.target.pg_version < 14:
            return
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype.name != "AT_DetachPartition" or cmd.def_.concurrent:
                continue
            partition = relname(cmd.def_.name)
            yield self.finding(  # the remedy (CONCURRENTLY, atomic = False) is the planner's
                ctx,
                f"DETACH PARTITION {partition} from {table} without CONCURRENTLY takes ACCESS "
                "EXCLUSIVE on both",
                lock=Lock.ACCESS_EXCLUSIVE.on(str(table), f'and on "{partition}"'),
            )
