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

from collections.abc import Iterator

from schemaops.columns import DeclaredColumn, declared_columns
from schemaops.findings import Finding, Severity
from schemaops.rules import Rule, StatementContext
from schemaops.statements import type_name


def _bounded_varchar(col: DeclaredColumn) -> bool:
    return col.base == "varchar" and col.length is not None


class VarcharInSQL(Rule):
    code = "SO604"
    name = "varchar-in-sql"
    summary = "A column is declared varchar(n) in SQL instead of text"
    severity = Severity.INFO
    category = "hygiene"
    statements = ("CreateStmt", "AlterTableStmt")

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        found = [col for col in declared_columns(ctx.node) if _bounded_varchar(col)]
        if not found:
            return
        where = ", ".join(f"{col.where} {type_name(col.type)}" for col in found)
        yield self.finding(
            ctx,
            f"{found[0].action} declares {where}: changing the limit later locks and "
            "rewrites the table; use text with a CHECK constraint",
        )  # the remedy (text + a char_length CHECK, NOT VALID then VALIDATE) is the planner's
