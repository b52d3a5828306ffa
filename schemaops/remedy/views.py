"""``RunSQL`` that drops or retypes a column a view reads: the views dropped and re-created.

PostgreSQL refuses ``ALTER COLUMN ... TYPE`` and ``DROP COLUMN`` (without
``CASCADE``) on a column a view reads; with ``CASCADE`` the view is gone for
good. The views the project's ``RunSQL`` created are known
(:attr:`~schemaops.remedy.sqlops.SqlFacts.views`), so where re-creating them
as they are is possible the remedy writes it, in the statement's own
transaction: ``DROP VIEW`` each view, the user's statements, ``CREATE VIEW``
each view again from its own definition. Every lock is brief (no rewrite, no
scan). That is possible when

- the type change needs no rewrite (``varchar(20)`` -> ``varchar(50)``,
  ``varchar`` -> ``text``: PostgreSQL's binary-coercible changes); a rewrite
  holds ACCESS EXCLUSIVE as long as it takes, views or not;
- a dropped column is read by the views only through ``*`` (``SELECT *``
  expands again, without the column).

Otherwise nothing is planned here (:func:`why_not_recreated` says why: a view
that names the dropped column must be redefined by hand, a dropped table takes
its views with it, a rewriting type change needs the shadow-column way, a
materialized view would be filled again), and the operation keeps the rules'
one composed recipe, which orders every hazard of it (the view, the drop, the
timeout), where an advice remedy would speak for the view alone. Only a
``RunSQL`` made of such ``ALTER TABLE`` commands is planned here; one that
handles views itself (``CREATE VIEW``, ``DROP VIEW``) or does other work keeps
the statement planner's remedy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pglast import ast, enums

from schemaops.dbfacts import query_reads
from schemaops.statements import AT, SQLSyntaxError, ident, parse, relname, runsql_texts

if TYPE_CHECKING:
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import Remedy

RECREATED = "views-recreated"


@dataclass(frozen=True)
class View:
    """A view ``RunSQL`` created: its definition as written, what it reads."""

    name: str
    sql: str
    tables: frozenset[str]
    columns: frozenset[str]  # the column names it names explicitly
    star: bool  # it selects ``*`` somewhere
    materialized: bool


def record_view(views: dict[str, View], node: Any) -> None:
    """Note a ``CREATE [MATERIALIZED] VIEW`` or ``DROP VIEW`` in ``views`` (by name)."""
    from schemaops.remedy.transform import deparse

    if isinstance(node, ast.ViewStmt):
        name, query, materialized = relname(node.view), node.query, False
    elif (
        isinstance(node, ast.CreateTableAsStmt) and node.objtype == enums.ObjectType.OBJECT_MATVIEW
    ):
        name, query, materialized = relname(getattr(node.into, "rel", None)), node.query, True
    elif isinstance(node, ast.DropStmt) and node.removeType in _VIEW_TYPES:
        for parts in node.objects or ():
            views.pop(str(parts[-1].sval), None)
        return
    else:
        return
    if name:
        tables, columns, star = query_reads(query)
        views[name] = View(name, deparse(node), tables, columns, star, materialized)


_VIEW_TYPES = (enums.ObjectType.OBJECT_VIEW, enums.ObjectType.OBJECT_MATVIEW)


@dataclass(frozen=True)
class Change:
    """One command of the ``RunSQL`` on a column (or table) views may read."""

    table: str
    column: str | None  # None: the table is dropped
    kind: str  # "drop", "type", "drop-table"
    node: Any = None


def plan_view_dependents(
    op: Any, state: ProjectState, facts: Any, pg_version: int = 150000
) -> Remedy | None:
    """The remedy of a ``RunSQL`` ``op`` whose commands change what known views read
    (None: no such view, or a ``RunSQL`` of another shape); its one migration takes the
    original's place, in its phase."""
    views: dict[str, View] = dict(getattr(facts, "views", None) or {})
    changes = _changes(op) if views else None
    if not changes:
        return None
    hit = _views_hit(views, changes)
    if not hit or why_not_recreated(op, state, facts, pg_version):
        return None
    return _recreated(op, hit)


def why_not_recreated(op: Any, state: Any, facts: Any, pg_version: int = 150000) -> str | None:
    """Why the views ``op`` changes cannot be re-created as they are around it (None:
    they can, or no known view is in the way)."""
    views: dict[str, View] = dict(getattr(facts, "views", None) or {})
    changes = _changes(op) if views else None
    hit = _views_hit(views, changes) if changes else []
    return _why_not(hit, changes or [], views, state, pg_version) if hit else None


def _changes(op: Any) -> list[Change] | None:
    """The column changes of a ``RunSQL`` made only of them (None: other statements)."""
    try:
        nodes = [s.node for text in runsql_texts(op.sql) for s in parse(text)]
    except (SQLSyntaxError, TypeError, ValueError):
        return None
    out = []
    for node in nodes:
        if isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_TABLE:
            dropped = node.objects or ()
            out += [Change(str(parts[-1].sval), None, "drop-table") for parts in dropped]
            continue
        if (
            not isinstance(node, ast.AlterTableStmt)
            or node.objtype != enums.ObjectType.OBJECT_TABLE
        ):
            return None
        table = str(relname(node.relation))
        for cmd in node.cmds or ():
            if cmd.subtype == AT.AT_DropColumn:
                out.append(Change(table, str(cmd.name), "drop"))
            elif cmd.subtype == AT.AT_AlterColumnType:
                out.append(Change(table, str(cmd.name), "type", cmd))
            else:
                return None
    return out


def _views_hit(views: dict[str, View], changes: list[Change]) -> list[View]:
    hit = []
    for view in views.values():
        for change in changes:
            if change.table not in view.tables:
                continue
            if change.column is None or view.star or change.column in view.columns:
                hit.append(view)
                break
    return hit


def _why_not(
    hit: list[View], changes: list[Change], views: dict[str, View], state: Any, pg: int
) -> str | None:
    """Why the views cannot simply be re-created around the statements (None: they can)."""
    names = {v.name for v in hit}
    for view in views.values():
        if view.name not in names and view.tables & names:
            return f"the view {view.name} reads the view {sorted(view.tables & names)[0]}"
    for view in hit:
        if view.materialized:
            return f"{view.name} is a materialized view (re-creating it fills it again)"
    for change in changes:
        readers = [v.name for v in hit if change.table in v.tables]
        if change.kind == "drop-table" and readers:
            return f"the table {change.table} is dropped, and the view(s) with it"
        if change.kind == "drop":
            named = [v.name for v in hit if change.table in v.tables and change.column in v.columns]
            if named:
                return (
                    f"the view(s) {', '.join(named)} name {change.table}.{change.column}: "
                    "redefine them without it first"
                )
        if change.kind == "type" and readers and not _no_rewrite(change, state, pg):
            return (
                f"the type change of {change.table}.{change.column} rewrites the table "
                "(or its type is unknown)"
            )
    return None


def _no_rewrite(change: Change, state: Any, pg_version: int) -> bool:
    """Is the ``ALTER COLUMN TYPE`` binary-coercible from the column's type in the state?"""
    from schemaops.columns import binary_coercible, field_db_type, has_column, type_from_node
    from schemaops.plan import column_for, db_table_for

    if change.node.def_.raw_default is not None:  # USING: an expression per row
        return False
    new = type_from_node(change.node.def_.typeName)
    if new is None:
        return False
    for model in state.models.values():
        if db_table_for(model.app_label, model.name, model.options) != change.table:
            continue
        for name, field in model.fields.items():
            if has_column(field) and column_for(name, field) == change.column:
                old = field_db_type(field, None, pg_version // 10000)
                return old is not None and binary_coercible(old, new)
    return False


def _recreated(op: Any, hit: list[View]) -> Remedy:
    from schemaops.remedy.planner import MigrationSpec, Remedy, run_sql

    drops = [f"DROP VIEW IF EXISTS {ident(v.name)}" for v in hit]
    creates = [v.sql for v in hit]
    forwards = [*drops, *runsql_texts(op.sql), *creates]
    reverse = _reverse(op, drops, creates)
    run: Any = run_sql(forwards, reverse)
    if reverse is None:  # the user's was irreversible: so is this
        run.reverse_sql = None
    listed = ", ".join(sorted(v.name for v in hit))
    summary = (
        f"drop the view(s) {listed} before the statements and re-create them after, in the "
        "same transaction (PostgreSQL refuses to change a column a view reads; CASCADE "
        "would drop the view for good)"
    )
    # post=False: the file takes the original migration's place, in its phase
    return Remedy(RECREATED, summary, [MigrationSpec("expand", [run])])


def _reverse(op: Any, drops: list[str], creates: list[str]) -> list[str] | None:
    """The user's reverse wrapped the same way; [] for a no-op, None for irreversible."""
    from django.db import migrations

    if op.reverse_sql is None:
        return None
    if op.reverse_sql in (migrations.RunSQL.noop, ""):
        return []
    return [*drops, *runsql_texts(op.reverse_sql), *creates]
