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

from schemaops.checks._declared import DeclaredColumnRule
from schemaops.columns import DeclaredColumn
from schemaops.findings import Severity


class TimestampWithoutTimeZone(DeclaredColumnRule):
    code = "SO602"
    name = "timestamp-without-time-zone"
    summary = "A column is declared timestamp without time zone"
    severity = Severity.WARNING
    category = "hygiene"
    advice = (
        " as timestamp without time zone: the value carries no offset, so it means "
        "different instants in different zones; use timestamptz"
    )

    def flags(self, col: DeclaredColumn) -> bool:
        return col.base == "timestamp"
