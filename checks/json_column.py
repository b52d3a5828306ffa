"""SO601 json-column: a column is declared ``json`` instead of ``jsonb``.

## What it does
Flags ``json`` (not ``jsonb``) columns declared in SQL: ``CREATE TABLE``,
``ALTER TABLE ... ADD COLUMN`` and ``ALTER COLUMN ... TYPE``, in ``RunSQL``
or in the SQL of a third-party operation. Django's ``JSONField`` is already
``jsonb``.

## Why is this bad?
``json`` stores the text as typed and has no equality operator: ``SELECT
DISTINCT``, ``UNION``, ``GROUP BY`` and Django's ``.distinct()`` fail on a
table with a ``json`` column, and it cannot be indexed with GIN. Converting
later is an ``ALTER COLUMN TYPE`` that rewrites the whole table under an
ACCESS EXCLUSIVE lock, blocking reads and writes.

## Example
```python
migrations.RunSQL("ALTER TABLE orders_order ADD COLUMN payload json")
```

## Use instead
```python
migrations.RunSQL("ALTER TABLE orders_order ADD COLUMN payload jsonb")
```
or ``models.JSONField`` with ``AddField``.

## References
- https://www.postgresql.org/docs/current/datatype-json.html
- strong_migrations ``add_column_json``; eugene E3
"""

from __future__ import annotations

from schemaops.checks._declared import DeclaredColumnRule
from schemaops.columns import DeclaredColumn
from schemaops.findings import Severity


class JsonColumn(DeclaredColumnRule):
    code = "SO601"
    name = "json-column"
    summary = "A column is declared json instead of jsonb"
    severity = Severity.WARNING
    category = "hygiene"
    advice = (
        " as json: it has no equality operator (DISTINCT and GROUP BY fail) and cannot be "
        "GIN-indexed; use jsonb"
    )

    def flags(self, col: DeclaredColumn) -> bool:
        return col.base == "json"
