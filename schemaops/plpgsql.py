"""What a ``DO $$ ... $$`` block runs, read with PostgreSQL's own PL/pgSQL parser.

A DO block hides its statements from a plain SQL parser: pglast sees one
``DoStmt`` whose body is a string. :func:`read_do_block` parses that body
(``pglast.parse_plpgsql``) and returns the SQL statements it runs, at any
depth of ``IF``/``LOOP``/``BEGIN`` blocks: plain statements, and ``EXECUTE``
of a constant string. What cannot be known without running it (``EXECUTE``
of a built string, a body in another language, a body that does not parse)
is returned as text saying so, for a finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast import ast

from schemaops.statements import SQLSyntaxError, Statement, parse


@dataclass
class DoBlock:
    statements: list[Statement] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # what could not be analysed, and why


def read_do_block(node: Any) -> DoBlock:
    """The statements a ``DoStmt`` runs, and what of it could not be read."""
    out = DoBlock()
    body, language = _body_and_language(node)
    if language != "plpgsql":
        out.unreadable.append(f"a DO block in {language}")
        return out
    if body is None:
        return out
    from pglast import parse_plpgsql
    from pglast.parser import ParseError

    wrapped = (
        "CREATE FUNCTION pg_temp.schemaops_do() RETURNS void LANGUAGE plpgsql "
        f"AS $schemaops_do${body}$schemaops_do$"
    )
    try:
        tree = parse_plpgsql(wrapped)
    except ParseError as exc:
        out.unreadable.append(f"a DO block whose body does not parse ({exc})")
        return out
    for kind, value in _walk(tree):
        if kind == "PLpgSQL_stmt_execsql":
            _add(out, _query(value.get("sqlstmt")))
        elif kind == "PLpgSQL_stmt_dynexecute":
            constant = _constant(_query(value.get("query")))
            if constant is None:
                out.unreadable.append("EXECUTE of SQL built at run time")
            else:
                _add(out, constant)
    return out


def _body_and_language(node: Any) -> tuple[str | None, str]:
    body, language = None, "plpgsql"
    for option in node.args or ():
        if not isinstance(option, ast.DefElem):
            continue
        value = getattr(option.arg, "sval", None)
        if option.defname == "as":
            body = value
        elif option.defname == "language" and value:
            language = str(value).lower()
    return body, language


def _walk(tree: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every PL/pgSQL node of the parse tree, as (node type, its fields)."""
    todo = [tree]
    while todo:
        item = todo.pop()
        if isinstance(item, list):
            todo.extend(reversed(item))
        elif isinstance(item, dict):
            for key, value in item.items():
                if key.startswith("PLpgSQL_") and isinstance(value, dict):
                    yield key, value
            todo.extend(reversed(list(item.values())))  # depth first, in source order


def _query(expr: Any) -> str | None:
    if isinstance(expr, dict):
        inner = expr.get("PLpgSQL_expr", expr)
        query = inner.get("query") if isinstance(inner, dict) else None
        return str(query) if query else None
    return None


def _constant(expression: str | None) -> str | None:
    """The SQL text of ``EXECUTE 'constant'``; None when it is built at run time."""
    if not expression:
        return None
    try:
        (stmt,) = parse(f"SELECT {expression}")
    except (SQLSyntaxError, ValueError):
        return None
    targets: list[Any] = list(getattr(stmt.node, "targetList", None) or ())
    if len(targets) != 1 or getattr(stmt.node, "fromClause", None):
        return None
    value = targets[0].val
    if isinstance(value, ast.A_Const) and isinstance(value.val, ast.String):
        return str(value.val.sval)
    return None


def _add(out: DoBlock, sql_text: str | None) -> None:
    if not sql_text:
        return
    try:
        out.statements.extend(parse(sql_text))
    except SQLSyntaxError as exc:
        out.unreadable.append(f"a statement that does not parse ({exc})")


def with_do_bodies(statements: Iterable[Statement]) -> Iterator[Statement]:
    """The statements, each ``DO`` block followed by the statements its body runs."""
    for stmt in statements:
        yield stmt
        if isinstance(stmt.node, ast.DoStmt):
            yield from read_do_block(stmt.node).statements


def flat_do_statements(node: Any) -> list[Statement] | None:
    """The statements of a DO block that is only a list of them (no variables, no
    IF/LOOP, no EXCEPTION, no EXECUTE of a built string); None for any other body.

    Such a block runs exactly its statements in order, so the planner may run them
    as plain statements instead (and rewrite them, which a DO block cannot hold:
    ``CONCURRENTLY`` refuses to run inside a function).
    """
    body, language = _body_and_language(node)
    if language != "plpgsql" or body is None:
        return None
    from pglast import parse_plpgsql
    from pglast.parser import ParseError

    wrapped = (
        "CREATE FUNCTION pg_temp.schemaops_do() RETURNS void LANGUAGE plpgsql "
        f"AS $schemaops_do${body}$schemaops_do$"
    )
    try:
        function = parse_plpgsql(wrapped)[0]["PLpgSQL_function"]
    except (ParseError, KeyError, IndexError):
        return None
    if len(function.get("datums", [])) > 1:  # only the implicit FOUND
        return None
    block = function.get("action", {}).get("PLpgSQL_stmt_block", {})
    if block.get("exceptions"):
        return None
    out = DoBlock()
    for item in block.get("body", []):
        ((kind, value),) = item.items()
        if kind == "PLpgSQL_stmt_execsql":
            _add(out, _query(value.get("sqlstmt")))
        elif kind == "PLpgSQL_stmt_dynexecute" and not value.get("params"):
            constant = _constant(_query(value.get("query")))
            if constant is None:
                return None
            _add(out, constant)
        elif kind != "PLpgSQL_stmt_return":
            return None
    return None if out.unreadable else out.statements
