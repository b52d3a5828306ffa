"""SO604 varchar-in-sql: a column is declared ``varchar(n)`` in SQL.

## What it does
Flags ``varchar(n)`` / ``character varying(n)`` columns declared in SQL
(``CREATE TABLE``, ``ADD COLUMN``, ``ALTER COLUMN ... TYPE``). An unbounded
``varchar`` is the same as ``text`` and passes.

## Why is this bad?
In PostgreSQL ``varchar(n)`` is ``text`` plus a length check: no faster, no
smaller. When the limit has to shrink, or change to anything but a wider
``varchar``, the ``ALTER COLUMN TYPE`` takes an ACCESS EXCLUSIVE lock and
scans or rewrites the table, blocking reads and writes. A CHECK constraint
on ``text`` can be replaced with ``NOT VALID`` and ``VALIDATE`` instead.

## Example
```python
migrations.RunSQL("ALTER TABLE customers_customer ADD COLUMN nickname varchar(40)")
```

## Use instead
```python
migrations.RunSQL(
    "ALTER TABLE customers_customer ADD COLUMN nickname text"
    " CONSTRAINT nickname_len CHECK (char_length(nickname) <= 40)"
)
```

## References
- https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_varchar.28n.29_by_default
- squawk ``prefer-text-field``
"""

from __future__ import annotations

from schemaops.checks._declared import DeclaredColumnRule
from schemaops.columns import DeclaredColumn
from schemaops.findings import Severity
from schemaops.statements import type_name


class VarcharInSQL(DeclaredColumnRule):
    code = "SO604"
    name = "varchar-in-sql"
    summary = "A column is declared varchar(n) in SQL instead of text"
    severity = Severity.INFO
    category = "hygiene"
    advice = (
        ": changing the limit later locks and rewrites the table; use text with a CHECK "
        "constraint"
    )  # the remedy (text + a char_length CHECK, NOT VALID then VALIDATE) is the planner's

    def flags(self, col: DeclaredColumn) -> bool:
        return col.base == "varchar" and col.length is not None

    def describe(self, col: DeclaredColumn) -> str:
        return f"{col.where} {type_name(col.type)}"
