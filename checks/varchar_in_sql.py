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
from typing import Any

from schemaops.checks._column_types import (
    base_type,
    column_types,
    has_length,
    retype,
    runsql_recipe,
    sql_literal,
)
from schemaops.findings import Finding, Severity
from schemaops.remedy.code import join_steps
from schemaops.rules import Rule, StatementContext
from schemaops.statements import ident, type_name


def _bounded_varchar(type_node: Any) -> bool:
    return base_type(type_node) == "varchar" and has_length(type_node)


def _limit(type_node: Any) -> str:
    val = getattr(type_node.typmods[0], "val", None)
    return str(getattr(val, "ival", "n"))


class VarcharInSQL(Rule):
    code = "SO604"
    name = "varchar-in-sql"
    summary = "A column is declared varchar(n) in SQL instead of text"
    severity = Severity.INFO
    category = "hygiene"
    statements = ("CreateStmt", "AlterTableStmt")

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        found = [col for col in column_types(ctx.node) if _bounded_varchar(col.type)]
        if not found:
            return
        where = ", ".join(f"{col.where} {type_name(col.type)}" for col in found)
        yield self.finding(
            ctx,
            f"{found[0].action} declares {where}: changing the limit later locks and "
            "rewrites the table; use text with a CHECK constraint",
            recipe=join_steps(
                runsql_recipe(ctx, retype(_bounded_varchar, "text")),
                "# if the limit matters, enforce it with a constraint you can change online:",
                *(_check_recipe(col.table, col.column, _limit(col.type)) for col in found),
            ),
        )


def _check_recipe(table: str, column: str, limit: str) -> str:
    name = ident(f"{column}_len")
    add = (
        f"ALTER TABLE {ident(table)} ADD CONSTRAINT {name} "
        f"CHECK (char_length({ident(column)}) <= {limit}) NOT VALID"
    )
    drop = f"ALTER TABLE {ident(table)} DROP CONSTRAINT IF EXISTS {name}"
    validate = f"ALTER TABLE {ident(table)} VALIDATE CONSTRAINT {name}"
    return (
        f"migrations.RunSQL({sql_literal(add)}, reverse_sql={sql_literal(drop)}),\n"
        "# then, in the next migration (VALIDATE lets reads and writes go on):\n"
        f"migrations.RunSQL({sql_literal(validate)}, reverse_sql=migrations.RunSQL.noop),"
    )
