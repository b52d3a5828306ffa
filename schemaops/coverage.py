"""Which columns lead an index: the analysis of the missing-index rules (SO5xx).

A column is *covered* when some index whose first column it is can serve an
equality or ordering lookup on it: the primary key, ``unique=True``,
``db_index=True`` (Django's default for a ForeignKey), a btree or hash
``Meta.indexes`` entry, a ``UniqueConstraint``, ``unique_together`` or
``index_together``. Partial indexes (``condition=``) and GIN/GiST/BRIN
indexes do not count: they cannot serve a plain ``WHERE col = %s``.

Indexes created in ``RunSQL`` anywhere in the graph count too
(:func:`sql_covered`), so a ``CREATE INDEX CONCURRENTLY`` written by hand in
a later migration silences the rules.

The rules judge the *final* project state, and blame the operation of a
selected migration that made the problem appear (:func:`culprits`). The index
they ask for is planned by :func:`schemaops.remedy.sql.plan_new_index`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from pglast import ast

from schemaops.plan import column_for, db_table_for
from schemaops.rules import FinalContext, OperationContext
from schemaops.statements import AT, CONSTR, SQLSyntaxError, names, parse, relname

ModelKey = tuple[str, str]
# problems of one model: key (a field name, "ordering", ...) -> the column it is about
Problems = Callable[[Any], dict[str, str]]
_USABLE = {"idx", "btree", "hash"}  # Index.suffix of index types that serve col = %s
_USABLE_SQL = {"btree", "hash", ""}


def column_of(model: Any, name: str) -> str | None:
    """The column of field ``name`` (or of an attname like ``customer_id``)."""
    field = model.fields.get(name)
    if field is not None:
        if getattr(field, "many_to_many", False):
            return None
        return column_for(name, field)
    return name if name.endswith("_id") else None


def table_of(model: Any) -> str:
    return db_table_for(model.app_label, model.name, model.options)


def leading_columns(model: Any) -> set[str]:
    """Columns that lead an index usable for ``WHERE col = %s`` or ``ORDER BY col``."""
    out: set[str] = set()
    for name, field in model.fields.items():
        if getattr(field, "many_to_many", False):
            continue
        if field.primary_key or field.unique or getattr(field, "db_index", False):
            out.add(column_for(name, field))
    for first in _first_fields(model.options):
        column = column_of(model, first.lstrip("-"))
        if column:
            out.add(column)
    return out


def _first_fields(options: dict[str, Any]) -> Iterator[str]:
    for index in options.get("indexes", ()):
        if getattr(index, "condition", None) is None and type(index).suffix in _USABLE:
            yield from _leading_name(index)
    for constraint in options.get("constraints", ()):
        if type(constraint).__name__ == "UniqueConstraint" and constraint.condition is None:
            yield from _leading_name(constraint)
    for key in ("unique_together", "index_together"):
        for group in options.get(key) or ():
            if group:
                yield group[0]


def _leading_name(obj: Any) -> Iterator[str]:
    if getattr(obj, "fields", None):
        yield obj.fields[0]
        return
    expressions = getattr(obj, "expressions", ()) or ()
    if expressions:
        name = plain_field(expressions[0])
        if name:
            yield name


def plain_field(expr: Any) -> str | None:
    """``created`` for ``"-created"``, ``F("created")`` or ``F("created").desc()``."""
    if isinstance(expr, str):
        stripped = expr.lstrip("-")
        return None if stripped == "?" or "__" in stripped else stripped
    inner = getattr(expr, "expression", expr)  # OrderBy wraps an F
    name = getattr(inner, "name", None)
    return name if isinstance(name, str) and "__" not in name else None


def is_table_model(model: Any) -> bool:
    """Models with a table of their own that Django manages."""
    options = model.options
    return options.get("managed", True) and not options.get("proxy", False)


# -- blame -------------------------------------------------------------------------


def culprits(
    fctx: FinalContext, problems: Problems
) -> dict[tuple[ModelKey, str], OperationContext]:
    """For every problem that appears during a selected operation: the last such operation."""
    out: dict[tuple[ModelKey, str], OperationContext] = {}
    for op in fctx.operations:
        key = op.step.model_key
        if key is None or op.after is None or not is_table_model(op.after):
            continue
        before = problems(op.before) if op.before is not None else {}
        for name in problems(op.after).keys() - before.keys():
            out[(key, name)] = op
    return out


def final_problems(
    fctx: FinalContext, problems: Problems
) -> Iterator[tuple[OperationContext, Any, str, str]]:
    """(culprit operation, final model, key, column) for problems still there at the end."""
    for (key, name), op in culprits(fctx, problems).items():
        model = fctx.state.models.get(key)
        if model is None or not is_table_model(model):
            continue
        column = problems(model).get(name)
        if column is not None and not sql_covered(fctx.graph, table_of(model), column):
            yield op, model, name, column


# -- indexes written in SQL ----------------------------------------------------------


def sql_covered(graph: Any, table: str, column: str) -> bool:
    return column in sql_leading_columns(graph).get(table, set())


@lru_cache(maxsize=4)
def sql_leading_columns(graph: Any) -> dict[str, set[str]]:
    """table -> columns leading a usable index created by RunSQL anywhere in the graph."""
    out: dict[str, set[str]] = {}
    for migration in graph.nodes.values():
        for op in _all_operations(migration.operations):
            for node in runsql_nodes(op, _INDEX_WORDS):
                for table, column in _index_leads(node):
                    out.setdefault(table, set()).add(column)
    return out


def _all_operations(operations: Any) -> Iterator[Any]:
    for op in operations:
        yield op
        yield from _all_operations(getattr(op, "database_operations", ()))


# Statements that create an index or a key contain one of these words. This only
# spares parsing the SQL of the whole graph that cannot; the parser decides.
_INDEX_WORDS = ("INDEX", "UNIQUE", "PRIMARY")


def runsql_nodes(op: Any, words: tuple[str, ...] = ()) -> Iterator[Any]:
    """Parsed forward statements of a RunSQL (unparsable text is SO901's business).

    With ``words``, text that contains none of them (in any case) is not parsed.
    """
    from django.db import migrations

    from schemaops.statements import runsql_texts

    if not isinstance(op, migrations.RunSQL):
        return
    for text in runsql_texts(op.sql):
        if words and not any(word in text.upper() for word in words):
            continue
        try:
            statements = parse(text)
        except SQLSyntaxError:
            continue
        for stmt in statements:
            yield stmt.node


def _index_leads(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, ast.IndexStmt):
        method = str(node.accessMethod or "").lower()
        first = (node.indexParams or (None,))[0]
        if node.whereClause is None and method in _USABLE_SQL and getattr(first, "name", None):
            yield str(relname(node.relation)), first.name
    for table, constraint, column in _constraints(node):
        if constraint.contype in (CONSTR.CONSTR_PRIMARY, CONSTR.CONSTR_UNIQUE):
            keys = names(constraint.keys)
            lead = column or (keys[0] if keys else None)
            if lead and not constraint.indexname:
                yield table, lead


def _constraints(node: Any) -> Iterator[tuple[str, Any, str | None]]:
    """(table, Constraint, column or None) declared by CREATE TABLE / ALTER TABLE."""
    if isinstance(node, ast.CreateStmt):
        table = str(relname(node.relation))
        for elt in node.tableElts or ():
            if isinstance(elt, ast.Constraint):
                yield table, elt, None
            elif isinstance(elt, ast.ColumnDef):
                for con in elt.constraints or ():
                    yield table, con, elt.colname
        return
    if isinstance(node, ast.AlterTableStmt):
        table = str(relname(node.relation))
        for cmd in node.cmds or ():
            if cmd.subtype == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                yield table, cmd.def_, None
            elif cmd.subtype == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                for con in cmd.def_.constraints or ():
                    yield table, con, cmd.def_.colname


def sql_foreign_keys(node: Any) -> Iterator[tuple[str, str, str]]:
    """(table, first column, referenced table) of every FOREIGN KEY a statement adds."""
    for table, constraint, column in _constraints(node):
        if constraint.contype == CONSTR.CONSTR_FOREIGN:
            attrs = names(constraint.fk_attrs)
            lead = column or (attrs[0] if attrs else None)
            if lead:
                yield table, lead, str(relname(constraint.pktable))
