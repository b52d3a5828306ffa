"""SQL helpers for rules, on top of pglast (PostgreSQL's own parser).

Nothing here matches SQL text with regular expressions: statements are
parsed into pglast AST nodes and rules read the nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError
from pglast.stream import RawStream, maybe_double_quote_name
from pglast.visitors import Continue, Visitor

from schemaops import _pglast

_pglast.install()  # pglast's node check, with a fast path (see schemaops._pglast)

AT = enums.AlterTableType
CONSTR = enums.ConstrType

# Functions whose value differs per row, so a DEFAULT using them rewrites the table.
VOLATILE_FUNCTIONS = frozenset(
    {
        "random",
        "gen_random_uuid",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "setseed",
        "txid_current",
        "random_normal",
        "uuidv4",
        "uuidv7",
        "gen_random_bytes",
    }
)
# Built-ins known not to be volatile (stable or immutable): evaluated once for ADD COLUMN.
STABLE_FUNCTIONS = frozenset(
    {
        "now",
        "current_timestamp",
        "current_date",
        "current_time",
        "localtimestamp",
        "localtime",
        "statement_timestamp",
        "transaction_timestamp",
        "lower",
        "upper",
        "coalesce",
        "concat",
        "length",
        "abs",
        "round",
        "trim",
        "to_char",
        "to_timestamp",
        "jsonb_build_object",
        "json_build_object",
        "array",
        "make_interval",
        "greatest",
        "least",
        "btrim",
        "md5",
        "date_trunc",
        "timezone",
        "nullif",
        "replace",
        "substring",
        "left",
        "right",
    }
)


@dataclass
class Statement:
    node: Any
    sql: str


class SQLSyntaxError(ValueError):
    pass


def parse(sql: str) -> list[Statement]:
    """Split and parse SQL; raise SQLSyntaxError with PostgreSQL's message."""
    try:
        raw = parse_sql(sql)
    except ParseError as exc:
        raise SQLSyntaxError(str(exc)) from None
    encoded = sql.encode()
    out = []
    for stmt in raw:
        start = stmt.stmt_location or 0
        length = stmt.stmt_len or len(encoded) - start
        text = encoded[start : start + length].decode(errors="replace").strip()
        out.append(Statement(stmt.stmt, text))
    return out


@lru_cache(maxsize=4096)
def parsed(sql: str) -> tuple[Statement, ...]:
    """:func:`parse`, once per SQL text in a process: the trees are shared, read them only.

    The linter, the lock model and the remedy planner read the SQL of the same
    operations one after the other; building pglast's tree is the costly part
    of reading it. A caller that changes a tree (a rewrite for a remedy) must
    call :func:`parse` for a tree of its own. A text that does not parse raises
    SQLSyntaxError every time (errors are not kept).
    """
    return tuple(parse(sql))


class _Ancestry(Visitor):  # type: ignore[misc]
    """Sets every node's ``ancestors`` (pglast's printers read them), as pglast's
    ``populate_ancestors`` does before printing, with one visitor for the process:
    pglast's makes a visitor class per call and looks its methods up again, two
    thirds of printing a short statement."""

    def __call__(self, node: Any) -> None:
        walk = self.iterate(node)
        try:
            ancestors, node = walk.send(None)
        except StopIteration:
            return
        while True:
            node.ancestors = ancestors
            try:
                ancestors, node = walk.send(Continue)
            except StopIteration:
                return


_ANCESTRY = _Ancestry()


def deparse(node: Any) -> str:
    """``node`` printed as SQL: what ``pglast.stream.RawStream()(node)`` prints (for one
    node, its ``__call__`` sets the ancestors of ``(node,)`` and prints the node)."""
    if not isinstance(node, ast.Node) or isinstance(node, ast.RawStmt):
        return str(RawStream()(node))
    stream = RawStream()
    _ANCESTRY((node,))
    stream.print_node(node)
    return str(stream.getvalue())


def relname(rangevar: Any) -> str | None:
    if rangevar is None:
        return None
    return str(rangevar.relname)


def names(nodes: Any) -> list[str]:
    """String values of a tuple of pglast ``String`` nodes (column lists, qualified names)."""
    return [str(n.sval) for n in nodes or () if isinstance(n, ast.String)]


def alter_commands(node: Any) -> Iterator[tuple[str | None, Any]]:
    """(table, AlterTableCmd) for every action of an ALTER TABLE statement."""
    if isinstance(node, ast.AlterTableStmt):
        table = relname(node.relation)
        for cmd in node.cmds or ():
            yield table, cmd


def column_constraints(coldef: Any) -> list[Any]:
    return [c for c in (coldef.constraints or ()) if isinstance(c, ast.Constraint)]


def function_names(expr: Any) -> Iterator[str]:
    """Names of every function called anywhere inside an expression."""
    if expr is None:
        return
    if isinstance(expr, ast.FuncCall):
        func = names(expr.funcname)
        if func:
            yield func[-1].lower()
    if isinstance(expr, ast.SQLValueFunction) and expr.op is not None:
        yield str(expr.op.name).lower()
    if isinstance(expr, ast.Node):
        for attr in expr:
            yield from function_names(getattr(expr, attr))
    elif isinstance(expr, tuple | list):
        for item in expr:
            yield from function_names(item)


def volatility(expr: Any) -> str:
    """'volatile', 'unknown' (a function we cannot vouch for) or 'stable'."""
    verdict = "stable"
    for name in function_names(expr):
        if name in VOLATILE_FUNCTIONS:
            return "volatile"
        if name not in STABLE_FUNCTIONS and not name.startswith("svfop_"):
            verdict = "unknown"
    return verdict


def type_name(type_node: Any) -> str:
    """``varchar(20)``-style rendering of a pglast TypeName."""
    if type_node is None:
        return "?"
    base = [n for n in names(type_node.names) if n != "pg_catalog"]
    text = ".".join(base) or "?"
    mods = []
    for mod in type_node.typmods or ():
        val = getattr(mod, "val", None)
        if val is not None and hasattr(val, "ival"):
            mods.append(str(val.ival))
    if mods:
        text += f"({','.join(mods)})"
    if type_node.arrayBounds:
        text += "[]"
    return text


def set_variable(node: Any) -> tuple[str, str] | None:
    """(name, value) of ``SET [LOCAL] name = value``; None for other statements."""
    if not isinstance(node, ast.VariableSetStmt) or not node.name:
        return None
    values: list[str] = []
    for arg in node.args or ():
        val = getattr(arg, "val", None)
        if isinstance(val, ast.String):
            values.append(str(val.sval))
        elif isinstance(val, ast.Integer):
            values.append(str(val.ival))
    return str(node.name).lower(), ",".join(values)


def ident(name: str) -> str:
    """An SQL identifier as PostgreSQL would need it written (pglast's quoting rules)."""
    return str(maybe_double_quote_name(name))


def runsql_texts(sql: Any) -> Iterator[str]:
    """The statements' texts of ``RunSQL.sql``: a string, or a list of strings and pairs.

    A ``(sql, params)`` pair's parameters are quoted in, as the driver does; a
    string runs without parameters, so its ``%`` stays as written. Anything else
    (``RunSQL(42)``, an empty pair) raises ValueError saying what is wrong.
    """
    if sql is None or (isinstance(sql, str) and not sql):
        return
    from django.db.migrations import RunSQL

    if sql == RunSQL.noop:
        return
    if isinstance(sql, str):
        yield sql
        return
    if not isinstance(sql, list | tuple):
        raise ValueError(f"RunSQL takes SQL as a string or a list, not {type(sql).__name__}")
    from schemaops.plan import interpolate

    for item in sql:
        params = None
        if isinstance(item, list | tuple):
            if len(item) not in (1, 2) or not isinstance(item[0], str):
                raise ValueError(f"RunSQL item {item!r} is not a string or an (sql, params) pair")
            item, params = item[0], (item[1] if len(item) > 1 else None)
        elif not isinstance(item, str):
            raise ValueError(f"RunSQL item {item!r} is not a string or an (sql, params) pair")
        if item:
            yield item if params is None else interpolate(item, params)
