"""SO306 truncate-table: all rows of an existing table are thrown away.

## What it does
Flags ``TRUNCATE`` in ``RunSQL`` on a table that existed before the
migration. ``CASCADE`` is called out: it empties every table with a foreign
key to it as well.

## Why is this bad?
``TRUNCATE`` takes an ACCESS EXCLUSIVE lock on each table (reads and writes
wait, and so does everything queued behind it), and it cannot be undone by
rolling the migration back: the rows are gone, and the running code keeps
writing to and reading from a table it expects to hold data. With
``CASCADE``, referencing tables are emptied too, often further than intended.

## Example
```python
operations = [migrations.RunSQL("TRUNCATE shop_cart CASCADE")]
```

## Use instead
If the rows must go, delete them in small batches (one short transaction
each) in a non-atomic migration, or by hand after the deploy; name every
table explicitly instead of ``CASCADE``.

## References
- https://www.postgresql.org/docs/current/sql-truncate.html
- https://squawkhq.com/docs/ban-truncate-cascade
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import enums

from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import Rule, StatementContext
from schemaops.statements import relname


class TruncateTable(Rule):
    code = "SO306"
    name = "truncate-table"
    summary = "TRUNCATE throws away every row of an existing table"
    category = "rollback"
    statements = ("TruncateStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        tables = [str(relname(r)) for r in node.relations or ()]
        tables = [t for t in tables if not ctx.is_new_table(t)]
        if not tables:
            return
        cascade = node.behavior == enums.DropBehavior.DROP_CASCADE
        also = " and, with CASCADE, every table that references them" if cascade else ""
        yield self.finding(
            ctx,
            f"TRUNCATE empties {', '.join(tables)}{also}: the rows cannot be rolled back and "
            "the running code still uses the table",
            lock="; ".join(Lock.ACCESS_EXCLUSIVE.on(t) for t in tables),
            recipe=_recipe(tables, cascade),
        )


def _recipe(tables: list[str], cascade: bool) -> str:
    """In words: no migration empties a table the running code uses without a lock
    (the planner writes no code for it either; compare SO301's unbatched DELETE)."""
    each = ", ".join(tables)
    named = " Name every table you mean instead of CASCADE." if cascade else ""
    return (
        f"Remove the TRUNCATE from the migration. If the rows of {each} must go, delete them "
        "after the deploy in small committed batches (DELETE ... WHERE ctid IN (SELECT ctid "
        f"... LIMIT 1000), repeated until no row is left), each a short transaction.{named}"
    )
