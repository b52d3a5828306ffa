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

from collections.abc import Iterator

from schemaops.columns import DeclaredColumn, declared_columns
from schemaops.findings import Finding, Severity
from schemaops.rules import Rule, StatementContext


def _is_json(col: DeclaredColumn) -> bool:
    return col.base == "json"


class JsonColumn(Rule):
    code = "SO601"
    name = "json-column"
    summary = "A column is declared json instead of jsonb"
    severity = Severity.WARNING
    category = "hygiene"
    statements = ("CreateStmt", "AlterTableStmt")

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        found = [col for col in declared_columns(ctx.node) if _is_json(col)]
        if not found:
            return
        where = ", ".join(col.where for col in found)
        yield self.finding(
            ctx,
            f"{found[0].action} declares {where} as json: it has no equality operator "
            "(DISTINCT and GROUP BY fail) and cannot be GIN-indexed; use jsonb",
        )  # the remedy (the statement retyped) is the planner's
