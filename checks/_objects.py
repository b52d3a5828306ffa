"""Helpers for rules about database objects that are not tables: enum types, domains, schemas."""

from __future__ import annotations

from typing import Any

from pglast import ast

from schemaops.statements import names


def literal(value: str) -> str:
    """An SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def created_name(node: Any) -> tuple[str, str] | None:
    """(kind, name) of the enum type, domain or schema a CREATE statement makes."""
    if isinstance(node, ast.CreateEnumStmt):
        return "type", names(node.typeName)[-1]
    if isinstance(node, ast.CreateDomainStmt):
        return "type", names(node.domainname)[-1]
    if isinstance(node, ast.CreateSchemaStmt) and node.schemaname:
        return "schema", str(node.schemaname)
    return None


def created_earlier(ctx: Any, kind: str, name: str) -> bool:
    """Did an earlier statement of this migration create the type or schema ``name``?

    Such an object has no data and no user yet, so changing it is harmless.
    """
    for earlier in ctx.migration.statements:
        if earlier.node is ctx.node:
            return False
        if created_name(earlier.node) == (kind, name):
            return True
    return False


def domain_condition(expr: Any, column: str) -> str:
    """A domain CHECK expression rewritten for one column: ``VALUE`` becomes the column."""
    import copy

    from schemaops.checks._lockrecipes import deparse

    return deparse(_swap(copy.deepcopy(expr), column))


def _swap(node: Any, column: str) -> Any:
    if isinstance(node, ast.ColumnRef) and [n.lower() for n in names(node.fields)] == ["value"]:
        return ast.ColumnRef(fields=(ast.String(sval=column),))
    if isinstance(node, ast.Node):
        for attr in node:
            setattr(node, attr, _swap(getattr(node, attr), column))
        return node
    if isinstance(node, tuple):
        return tuple(_swap(item, column) for item in node)
    return node


def table_checks(
    columns: list[tuple[str, str]], condition: Any, suffix: str
) -> tuple[list[str], list[str]]:
    """RunSQL code adding ``condition`` (a domain expression, or None for NOT NULL) as a
    NOT VALID CHECK constraint on each (table, column); and the VALIDATEs, for the next
    migration."""
    from django.db.backends.utils import truncate_name

    from schemaops.checks._lockrecipes import run_sql, validate_sql
    from schemaops.statements import ident

    add, validate = [], []
    for table, column in columns:
        name = str(truncate_name(f"{table}_{column}_{suffix}", 63))
        expr = f"{ident(column)} IS NOT NULL" if condition is None else None
        expr = expr or domain_condition(condition, column)
        sql = f"ALTER TABLE {ident(table)} ADD CONSTRAINT {ident(name)} CHECK ({expr}) NOT VALID"
        drop = f"ALTER TABLE {ident(table)} DROP CONSTRAINT IF EXISTS {ident(name)}"
        add.append(run_sql(sql, drop))
        validate.append(validate_sql(table, name))
    return add, validate
