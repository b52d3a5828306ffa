"""SO606 char-in-sql: a column is declared ``char(n)`` in SQL.

## What it does
Flags ``char(n)`` / ``character(n)`` (and bare ``char``, which is
``char(1)``) columns declared in SQL: ``CREATE TABLE``, ``ADD COLUMN``,
``ALTER COLUMN ... TYPE``. Django's ``CharField`` is ``varchar``, so this
only comes from ``RunSQL``. The internal single-byte type ``"char"`` passes.

## Why is this bad?
``char(n)`` pads every value with spaces up to ``n``, and ignores trailing
spaces when comparing: ``'ab'::char(3) = 'ab '`` is true, ``LIKE`` and
``length`` disagree with equality, and values read back carry padding
the code did not write. It is not faster or smaller than ``text`` in
PostgreSQL, and changing its length later takes ACCESS EXCLUSIVE and
rewrites the table.

## Example
```python
migrations.RunSQL("ALTER TABLE shop_customer ADD COLUMN country char(2)")
```

## Use instead
```python
migrations.RunSQL(
    "ALTER TABLE shop_customer ADD COLUMN country text"
    " CONSTRAINT country_len CHECK (char_length(country) <= 2)"
)
```
(Existing ``char(n)`` data keeps its padding when converted: trim it in the
backfill, ``rtrim(country)``.)

## References
- https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_char.28n.29
- https://squawkhq.com/docs/ban-char-field
"""

from __future__ import annotations

from schemaops.checks._declared import DeclaredColumnRule
from schemaops.columns import DeclaredColumn
from schemaops.findings import Severity
from schemaops.statements import type_name


class CharInSQL(DeclaredColumnRule):
    code = "SO606"
    name = "char-in-sql"
    summary = "A column is declared char(n), which pads values with spaces"
    severity = Severity.WARNING
    category = "hygiene"
    advice = (
        ": char(n) pads values with spaces and ignores them in comparisons; use text (with a "
        "length CHECK if the limit matters)"
    )  # the remedy (text + a char_length CHECK, NOT VALID then VALIDATE) is the planner's

    def flags(self, col: DeclaredColumn) -> bool:
        """``char(n)``/``character(n)``: ``pg_catalog.bpchar`` to the parser (not ``"char"``)."""
        return col.base == "bpchar"

    def describe(self, col: DeclaredColumn) -> str:
        return f"{col.where} {type_name(col.type).replace('bpchar', 'char')}"
