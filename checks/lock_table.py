"""SO218 lock-table: an explicit LOCK TABLE in a migration.

## What it does
Flags ``LOCK TABLE`` in ``RunSQL`` (on tables not created in the same migration).

## Why is this bad?
An explicit lock is held until the migration's transaction ends, and in
the default ACCESS EXCLUSIVE mode it blocks every read and write of the
table for that whole time; while it waits for running queries, everything
queued after it waits too.

## Example
```python
operations = [migrations.RunSQL("LOCK TABLE orders_order IN ACCESS EXCLUSIVE MODE")]
```

## Use instead
Usually nothing: DDL takes the locks it needs. If the lock is really
needed, take the weakest mode that works, set ``SET LOCAL lock_timeout``
right before it, and keep the transaction to that one quick step.

## References
- https://www.postgresql.org/docs/current/sql-lock.html
- https://www.postgresql.org/docs/current/explicit-locking.html
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.checks._lockmap import statement_locks
from schemaops.findings import Finding, Severity
from schemaops.rules import Rule, StatementContext


class LockTable(Rule):
    code = "SO218"
    name = "lock-table"
    summary = "An explicit LOCK TABLE holds a lock until the migration commits"
    severity = Severity.WARNING
    category = "locking"
    statements = ("LockStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, lock, _slow in statement_locks(ctx.node):
            if ctx.is_new_table(table):
                continue
            yield self.finding(
                ctx,
                f"LOCK TABLE {table} IN {lock.value} MODE holds the lock until the migration "
                "commits",
                lock=lock.on(table, "until the migration commits"),
            )  # the remedy (advice: the weakest mode, behind lock_timeout) is the planner's
