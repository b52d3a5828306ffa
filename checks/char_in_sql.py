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

from collections.abc import Iterator
from typing import Any

from schemaops.checks._column_types import base_type, column_types, retype, runsql_recipe
from schemaops.checks._lockrecipes import run_sql
from schemaops.findings import Finding, Severity
from schemaops.remedy.code import join_steps
from schemaops.rules import Rule, StatementContext
from schemaops.statements import ident, type_name


def is_char(type_node: Any) -> bool:
    """``char(n)``/``character(n)``: ``pg_catalog.bpchar`` to the parser (not ``"char"``)."""
    return base_type(type_node) == "bpchar"


def _length(type_node: Any) -> str | None:
    for mod in type_node.typmods or ():
        val = getattr(getattr(mod, "val", None), "ival", None)
        if val is not None:
            return str(val)
    return None


class CharInSQL(Rule):
    code = "SO606"
    name = "char-in-sql"
    summary = "A column is declared char(n), which pads values with spaces"
    severity = Severity.WARNING
    category = "hygiene"
    statements = ("CreateStmt", "AlterTableStmt")

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        found = [col for col in column_types(ctx.node) if is_char(col.type)]
        if not found:
            return
        where = ", ".join(
            f"{col.where} {type_name(col.type).replace('bpchar', 'char')}" for col in found
        )
        limits = [_limit(ctx, col) for col in found if _length(col.type) is not None]
        yield self.finding(
            ctx,
            f"{found[0].action} declares {where}: char(n) pads values with spaces and ignores "
            "them in comparisons; use text (with a length CHECK if the limit matters)",
            recipe=join_steps(
                runsql_recipe(ctx, retype(is_char, "text")),
                "# if the limit matters, a constraint you can change online "
                "(then VALIDATE CONSTRAINT in the next migration):"
                if limits
                else "",
                *limits,
            ),
        )


def _limit(ctx: StatementContext, col: Any) -> str:
    """RunSQL code of a length CHECK; NOT VALID unless the table is new (nothing to scan)."""
    table, name = ident(col.table), ident(f"{col.column}_len")
    new = col.action == "CREATE TABLE" or ctx.is_new_table(col.table)
    add = (
        f"ALTER TABLE {table} ADD CONSTRAINT {name} "
        f"CHECK (char_length({ident(col.column)}) <= {_length(col.type)})"
        + ("" if new else " NOT VALID")
    )
    return run_sql(add, f"ALTER TABLE {table} DROP CONSTRAINT {name}")
