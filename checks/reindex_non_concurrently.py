"""SO214 reindex-non-concurrently: REINDEX blocks writes (and reads through the index).

## What it does
Flags ``REINDEX`` without ``CONCURRENTLY`` in ``RunSQL`` when the target
PostgreSQL is 12 or newer (``REINDEX ... CONCURRENTLY`` exists since 12).

## Why is this bad?
``REINDEX`` takes SHARE on the table (writes wait) and ACCESS EXCLUSIVE on
each index it rebuilds (every query that would use the index waits) for
the whole rebuild.

## Example
```python
operations = [migrations.RunSQL("REINDEX INDEX order_created_idx")]
```

## Use instead
``REINDEX ... CONCURRENTLY`` in a migration with ``atomic = False``: it
builds a new copy of the index under SHARE UPDATE EXCLUSIVE and swaps it in.

## References
- https://www.postgresql.org/docs/current/sql-reindex.html#SQL-REINDEX-CONCURRENTLY
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.checks._lockmap import StateSchema, statement_locks
from schemaops.findings import Finding
from schemaops.rules import Rule, StatementContext


class ReindexNonConcurrently(Rule):
    code = "SO214"
    name = "reindex-non-concurrently"
    summary = "REINDEX without CONCURRENTLY blocks writes and index reads"
    category = "locking"
    statements = ("ReindexStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        pg_version = ctx.migration.target.pg_version
        if pg_version < 12 or any(p.defname == "concurrently" for p in node.params or ()):
            return
        schema = StateSchema(ctx.migration.state, pg_version)
        claims = statement_locks(node, schema, pg_version)
        if any(ctx.is_new_table(table) for table, _lock, _slow in claims):
            return
        target = node.relation.relname if node.relation else node.name or "the database"
        lock = "; ".join(lock.on(table, "for the whole rebuild") for table, lock, _ in claims)
        yield self.finding(
            ctx,
            f"REINDEX {node.kind.name.removeprefix('REINDEX_OBJECT_')} {target} without "
            f"CONCURRENTLY blocks writes to the table and queries using the index (PostgreSQL "
            f"{pg_version} can reindex concurrently)",
            lock=lock or None,
        )  # the remedy (REINDEX CONCURRENTLY, atomic = False) is the planner's
