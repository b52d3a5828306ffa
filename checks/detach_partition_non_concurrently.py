"""SO216 detach-partition-non-concurrently: DETACH PARTITION locks the partitioned table.

## What it does
Flags ``ALTER TABLE ... DETACH PARTITION`` without ``CONCURRENTLY`` in
``RunSQL`` when the target PostgreSQL is 14 or newer.

Also flags ``ATTACH PARTITION`` of a table that already exists (not created
in the same migration) when no RunSQL before it (in this or an earlier
migration) left a validated CHECK constraint on it: PostgreSQL then scans
the whole table, under ACCESS EXCLUSIVE on it, to prove every row fits the
partition bound.
The safe form adds a CHECK matching the bound ``NOT VALID``, validates
it (SHARE UPDATE EXCLUSIVE: reads and writes go on), and only then
attaches: PostgreSQL sees the constraint implies the bound and skips the scan.

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

For ``ATTACH PARTITION``: ``ADD CONSTRAINT ... CHECK (<the bound>) NOT VALID``
in one migration, ``VALIDATE CONSTRAINT`` in the next, then the ``ATTACH``
(and drop the CHECK after it).

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
        yield from self._attach(ctx)
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

    def _attach(self, ctx: StatementContext) -> Iterator[Finding]:
        """ATTACH PARTITION of an existing table with no validated CHECK added first."""
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype.name != "AT_AttachPartition":
                continue
            partition = relname(cmd.def_.name)
            if not partition or partition in ctx.migration.new_tables:
                continue  # a new, empty table: nothing to scan
            if _checked_before(ctx, partition) or _has_validated_check(ctx, partition):
                continue
            yield self.finding(
                ctx,
                f"ATTACH PARTITION {partition} to {table} scans every row of {partition} "
                "under ACCESS EXCLUSIVE to check the partition bound: reads and writes on it "
                "wait for the whole scan",
                lock=Lock.ACCESS_EXCLUSIVE.on(partition, "for the partition-bound scan"),
                recipe=(
                    f"Before the ATTACH, in an earlier migration: ALTER TABLE {partition} ADD "
                    "CONSTRAINT <name> CHECK (<the partition bound, e.g. col >= 'from' AND "
                    "col < 'to' AND col IS NOT NULL>) NOT VALID; then in its own migration "
                    f"ALTER TABLE {partition} VALIDATE CONSTRAINT <name>; then ATTACH "
                    "PARTITION (PostgreSQL skips the scan) and drop the CHECK after it."
                ),
            )


def _has_validated_check(ctx: StatementContext, partition: str) -> bool:
    """A validated CHECK on ``partition`` that a RunSQL of this or an earlier migration
    added (the recipe's first two migrations): PostgreSQL can skip the scan."""
    return any(ok for (table, _), ok in ctx.migration.facts.checks.items() if table == partition)


def _checked_before(ctx: StatementContext, partition: str) -> bool:
    """Did an earlier statement of the migration add a validated CHECK on ``partition``
    (``ADD CONSTRAINT ... CHECK`` without NOT VALID, or ``VALIDATE CONSTRAINT``)?"""
    for earlier in ctx.migration.statements:
        if earlier is ctx:
            break
        for table, cmd in alter_commands(earlier.node):
            if str(table) != partition:
                continue
            kind = cmd.subtype.name
            if kind == "AT_ValidateConstraint":
                return True
            con = cmd.def_
            check = kind == "AT_AddConstraint" and con.contype.name == "CONSTR_CHECK"
            if check and not con.skip_validation:
                return True
    return False
