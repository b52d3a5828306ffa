"""SO221 refresh-materialized-view: REFRESH MATERIALIZED VIEW without CONCURRENTLY.

## What it does
Flags ``REFRESH MATERIALIZED VIEW`` without ``CONCURRENTLY`` (and without
``WITH NO DATA``) in ``RunSQL``, on a view not created in the same migration.

## Why is this bad?
A plain refresh takes ACCESS EXCLUSIVE on the materialized view and keeps it
while the whole query runs again: every read of the view waits for it.

## Example
```python
migrations.RunSQL("REFRESH MATERIALIZED VIEW order_stats")
```

## Use instead
``REFRESH MATERIALIZED VIEW CONCURRENTLY`` takes EXCLUSIVE, which lets
reads go on; it needs a unique index (without ``WHERE``) on the view,
created once with ``CREATE UNIQUE INDEX CONCURRENTLY``.

## References
- https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import Rule, StatementContext
from schemaops.statements import relname


class RefreshMaterializedView(Rule):
    code = "SO221"
    name = "refresh-materialized-view"
    summary = "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view"
    category = "locking"
    statements = ("RefreshMatViewStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        view = relname(node.relation) or "?"
        if node.concurrent or node.skipData or ctx.is_new_table(view):
            return
        yield self.finding(
            ctx,
            f"REFRESH MATERIALIZED VIEW {view} without CONCURRENTLY blocks every read of "
            f"{view} while its query runs again",
            lock=Lock.ACCESS_EXCLUSIVE.on(view, "for the whole refresh"),
        )  # the remedy (CONCURRENTLY when the view has a unique index) is the planner's
