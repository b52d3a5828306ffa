"""Analysis helpers for rules about objects that are not tables: enum types, domains, schemas.

Facts, not remedies: what a remedy is comes from the planner (``schemaops.remedy``).
"""

from __future__ import annotations

from typing import Any

from pglast import ast

from schemaops.remedy.sqlops import literal
from schemaops.statements import names

__all__ = ["created_earlier", "created_name", "literal"]


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
