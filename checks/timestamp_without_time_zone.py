"""SO602 timestamp-without-time-zone: a column is declared ``timestamp`` without time zone.

## What it does
Flags ``timestamp`` / ``timestamp without time zone`` columns declared in SQL
(``CREATE TABLE``, ``ADD COLUMN``, ``ALTER COLUMN ... TYPE``). Django's
``DateTimeField`` is already ``timestamp with time zone``.

## Why is this bad?
A ``timestamp`` stores wall-clock time with no offset, so the same value
means different instants to servers, sessions and users in different zones,
and Django with ``USE_TZ = True`` reads it as naive (a RuntimeWarning, wrong
comparisons around DST). Changing the type later rewrites the table under an
ACCESS EXCLUSIVE lock unless the session time zone is UTC.

## Example
```python
migrations.RunSQL("ALTER TABLE orders_order ADD COLUMN shipped_at timestamp")
```

## Use instead
```python
migrations.RunSQL("ALTER TABLE orders_order ADD COLUMN shipped_at timestamptz")
```
or ``models.DateTimeField`` with ``AddField``.

## References
- https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_timestamp_.28without_time_zone.29
- squawk ``prefer-timestamptz``
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.columns import DeclaredColumn, declared_columns
from schemaops.findings import Finding, Severity
from schemaops.rules import Rule, StatementContext


def _naive(col: DeclaredColumn) -> bool:
    return col.base == "timestamp"


class TimestampWithoutTimeZone(Rule):
    code = "SO602"
    name = "timestamp-without-time-zone"
    summary = "A column is declared timestamp without time zone"
    severity = Severity.WARNING
    category = "hygiene"
    statements = ("CreateStmt", "AlterTableStmt")

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        found = [col for col in declared_columns(ctx.node) if _naive(col)]
        if not found:
            return
        where = ", ".join(col.where for col in found)
        yield self.finding(
            ctx,
            f"{found[0].action} declares {where} as timestamp without time zone: the value "
            "carries no offset, so it means different instants in different zones; "
            "use timestamptz",
        )  # the remedy (the statement retyped) is the planner's
