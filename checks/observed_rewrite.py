"""SO802 observed-rewrite: a table rewrite the trace saw that no rule reported.

## What it does
Reported by ``schemaops check --trace`` only: a statement of the migration
gave a table that existed before a new file (``pg_class.relfilenode``
changed), in an operation that no static rule flagged.

## Why is this bad?
A rewrite copies the whole table under ACCESS EXCLUSIVE: reads and writes
wait for as long as the copy takes, minutes on a large table, and the disk
briefly needs room for two copies.

## Example
An ``AlterField`` between two types PostgreSQL cannot convert in place, hidden
in a custom operation, rewrites ``orders_order``.

## Use instead
Add a new column, backfill it with ``schemaops backfill``, switch the code
to it, then drop the old column in a post-deploy migration.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html (Notes: rewrites)
"""

from __future__ import annotations

from schemaops.findings import Severity
from schemaops.rules import Rule


class ObservedRewrite(Rule):
    code = "SO802"
    name = "observed-rewrite"
    summary = "The trace saw a table rewrite that no rule reported"
    severity = Severity.WARNING
    category = "meta"
    # Findings are made by schemaops.trace.merge from a real trace.
