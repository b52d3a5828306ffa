"""The user's RunSQL re-rendered with a change applied to each statement (pglast, no regexes).

Kept until ``integer_primary_key.py`` (``runsql_recipe``, ``set_type``) and
``identifier_too_long.py`` (``runsql_recipe``) stop importing it: their recipes
move to the remedy planner (``schemaops.remedy``), which rewrites RunSQL for
every other rule (``schemaops/remedy/sqlops.py``). The column types a
statement declares are a core fact: :func:`schemaops.columns.declared_columns`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pglast import ast
from pglast.stream import RawStream

from schemaops.columns import DeclaredColumn, declared_columns
from schemaops.statements import parse

ColumnType = DeclaredColumn
column_types = declared_columns

Fix = Callable[[Any], None]  # changes a freshly parsed statement node in place


def retype(match: Callable[[Any], bool], new_type: str) -> Fix:
    """A fix that replaces every type ``match`` accepts (casts included) with ``new_type``."""

    def fix(node: Any) -> None:
        _replace(node, match, new_type)

    return fix


def set_type(type_node: Any, new_type: str) -> None:
    type_node.names = (ast.String(sval=new_type),)
    type_node.typmods = None


def rewrite(sql: str, fix: Fix) -> str:
    """``sql`` re-rendered after ``fix`` changed each of its statements.

    The SQL is parsed afresh, so the nodes other rules read stay untouched.
    """
    out = []
    for stmt in parse(sql):
        fix(stmt.node)
        out.append(RawStream()(stmt.node))
    return ";\n".join(out)


def _replace(node: Any, match: Callable[[Any], bool], new_type: str) -> None:
    if isinstance(node, ast.TypeName) and match(node):
        set_type(node, new_type)
        return
    if isinstance(node, ast.Node):
        for attr in node:
            _replace(getattr(node, attr), match, new_type)
    elif isinstance(node, tuple | list):
        for item in node:
            _replace(item, match, new_type)


def sql_literal(text: str) -> str:
    """A Python string literal for SQL in a recipe."""
    if "\n" not in text and len(text) < 80:
        return repr(text)
    return '"""\n' + text.replace('"""', '\\"\\"\\"') + '\n"""'


def runsql_recipe(ctx: Any, fix: Fix) -> str:
    """The user's RunSQL again, with ``fix`` applied to every statement: ready to paste.

    ``ctx`` is the StatementContext; a RunSQL written as one string is rewritten
    whole (its other statements re-rendered unchanged), a list item by item.
    """
    from django.db import migrations

    op = ctx.operation.operation
    if not isinstance(op, migrations.RunSQL):
        fixed = rewrite(ctx.sql, fix)
        return f"# {type(op).__name__} declares this type; write its SQL as:\n{fixed}"
    if isinstance(op.sql, str):
        sql = sql_literal(rewrite(op.sql, fix))
    else:
        sql = "[" + ", ".join(sql_literal(_rewrite_item(i, fix)) for i in op.sql) + "]"
    return f"migrations.RunSQL(\n    {sql},\n    reverse_sql={_reverse_code(op)},\n)"


def _rewrite_item(item: Any, fix: Fix) -> str:
    text = item[0] if isinstance(item, list | tuple) else item
    return rewrite(str(text), fix)


def _reverse_code(op: Any) -> str:
    from django.db import migrations

    reverse = op.reverse_sql
    if reverse is None or reverse == migrations.RunSQL.noop:
        return "migrations.RunSQL.noop" if reverse is not None else "None"
    if isinstance(reverse, str):
        return sql_literal(reverse)
    return repr(reverse)
