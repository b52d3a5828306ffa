"""What the database holds that Django's migration state does not say.

``SeparateDatabaseAndState`` and ``RunSQL`` change the database behind the
state's back: a field leaves the state while its column stays, a column is
made nullable or gets a database default by raw SQL. The phase rules need
those facts ("is this column still NOT NULL without a default when the
post-deploy migration drops it?"), so the walk records them for every
migration of the graph, selected or not, in one :class:`DatabaseFacts`.

Only database-side operations are read: ``RunSQL`` statements (parsed by
pglast) and the ``database_operations`` / ``state_operations`` of a
``SeparateDatabaseAndState``. The cost is nil for a history without them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import migrations

Column = tuple[str, str]  # (table, column)


@dataclass
class DatabaseFacts:
    """Columns the database has in a shape the state does not show.

    ``relaxed``: columns a database-only operation made nullable or gave a
    database default (``ALTER COLUMN ... DROP NOT NULL`` / ``SET DEFAULT`` in
    RunSQL, an ``AlterField`` in ``database_operations``).
    ``detached``: columns removed from the state only (the column stays), with
    whether they were NOT NULL without a database default at that moment.
    ``partitions``: partitioned tables (``CREATE TABLE ... PARTITION BY``, which
    Django does not model) and their partitions (``PARTITION OF``, ``ATTACH``).
    ``views``: views and materialized views made by RunSQL, with what they read.
    """

    relaxed: set[Column] = field(default_factory=set)
    detached: dict[Column, bool] = field(default_factory=dict)
    partitions: dict[str, list[str]] = field(default_factory=dict)
    views: dict[str, ViewDependency] = field(default_factory=dict)
    # (table, constraint name) -> [column, validated] for ``CHECK (col IS NOT NULL)``
    # added by RunSQL: PostgreSQL 12+ proves SET NOT NULL from a validated one, no scan
    not_null_checks: dict[Column, list[Any]] = field(default_factory=dict)
    # id(top-level operation) -> ``views`` just before it, for the operations that changed
    # them: rules run after the whole migration is recorded, and a migration that drops a
    # view, alters the table and re-creates the view must be judged on the views of the
    # moment (see ``views_before``)
    view_snapshots: dict[int, dict[str, ViewDependency]] = field(default_factory=dict)
    # column -> id(top-level operation) that relaxed it: a post-deploy drop needs the
    # column relaxed *before* its migration (the new code ran before all of it)
    relaxed_by: dict[Column, int] = field(default_factory=dict)
    # (table, constraint name) -> validated, for every CHECK a RunSQL added: ATTACH
    # PARTITION skips its bound scan when a validated CHECK implies the bound (SO216)
    checks: dict[tuple[str, str], bool] = field(default_factory=dict)
    _recording: int = 0

    def views_using(self, table: str, column: str | None = None) -> list[str]:
        """Views that read ``table`` (and, when given, its ``column``)."""
        return [
            name
            for name, dep in self.views.items()
            if table in dep.tables and (column is None or dep.uses_column(column))
        ]

    def validated_not_null(self, table: str) -> set[str]:
        """Columns of ``table`` with a validated ``CHECK (col IS NOT NULL)`` from RunSQL,
        in this migration or an earlier one (the state does not know them)."""
        return {
            column
            for (tbl, _name), (column, validated) in self.not_null_checks.items()
            if tbl == table and validated
        }

    def needs_value(self, column: Column, too_late: Iterable[Any] = ()) -> bool | None:
        """Does an INSERT that leaves ``column`` out fail? None when the column is unknown.

        Relaxations by the operations ``too_late`` (those of the post-deploy migration
        being judged) do not count: the new code ran before them.
        """
        if self.relaxed_before(column, too_late):
            return False
        return self.detached.get(column)

    def relaxed_before(self, column: Column, too_late: Iterable[Any] = ()) -> bool:
        """Was ``column`` made nullable or defaulted by an operation not in ``too_late``?"""
        if column not in self.relaxed:
            return False
        return self.relaxed_by.get(column) not in {id(op) for op in too_late}

    def _relax(self, column: Column) -> None:
        self.relaxed.add(column)
        self.relaxed_by[column] = self._recording

    def record(self, app_label: str, operation: Any, state: Any) -> None:
        """Record one operation, with ``state`` the ProjectState *before* it."""
        if not isinstance(operation, migrations.RunSQL | migrations.SeparateDatabaseAndState):
            return
        views = dict(self.views)
        self._recording = id(operation)
        if isinstance(operation, migrations.RunSQL):
            self._record_sql(operation.sql)
        else:
            self._record_separate(app_label, operation, state)
        if views != self.views:
            self.view_snapshots[id(operation)] = views

    def views_before(self, operations: list[Any], index: int) -> dict[str, ViewDependency]:
        """The views as they stood before ``operations[index]``, the migration last recorded.

        The first operation from ``index`` on that changed the views kept what they were
        before it; when none did, the views are those recorded so far.
        """
        for op in operations[index:]:
            snapshot = self.view_snapshots.get(id(op))
            if snapshot is not None:
                return snapshot
        return self.views

    @staticmethod
    def replay_views(views: dict[str, ViewDependency], nodes: Iterable[Any]) -> DatabaseFacts:
        """Facts holding ``views`` after the statements ``nodes`` (parsed) ran."""
        facts = DatabaseFacts(views=dict(views))
        for node in nodes:
            facts._record_views(node)
        return facts

    def _record_separate(self, app_label: str, op: Any, state: Any) -> None:
        dropped: set[Column] = set()
        for child in _flat(op.database_operations):
            if isinstance(child, migrations.RunSQL):
                self._record_sql(child.sql, dropped)
                continue
            found = _field_column(app_label, child, state)
            if found is None:
                continue
            column, old = found
            if isinstance(child, migrations.RemoveField):
                dropped.add(column)
            elif isinstance(child, migrations.AlterField) and _relaxes(child.field):
                self._relax(column)
        for child in op.state_operations:
            if not isinstance(child, migrations.RemoveField):
                continue
            found = _field_column(app_label, child, state)
            if found is not None and found[0] not in dropped:
                column, old = found
                self.detached[column] = not _relaxes(old)

    def _record_sql(self, sql: Any, dropped: set[Column] | None = None) -> None:
        from schemaops.statements import AT, SQLSyntaxError, alter_commands, parse, runsql_texts

        try:
            texts = list(runsql_texts(sql))
        except ValueError:
            return  # not SQL at all (RunSQL(42)): the linter reports it as SO901
        for text in texts:
            lowered = text.lower()
            if not any(word in lowered for word in ("alter", "partition", "view")):
                continue  # no ALTER TABLE, partition or view: nothing to parse for
            try:
                statements = parse(text)
            except SQLSyntaxError:
                continue
            for stmt in statements:
                self._record_partitions(stmt.node)
                self._record_views(stmt.node)
                for table, cmd in alter_commands(stmt.node):
                    self._record_check(str(table), cmd)
                    column = (str(table), str(cmd.name))
                    if cmd.subtype == AT.AT_DropNotNull or (
                        cmd.subtype == AT.AT_ColumnDefault and cmd.def_ is not None
                    ):
                        self._relax(column)
                    elif cmd.subtype == AT.AT_DropColumn and dropped is not None:
                        dropped.add(column)

    def _record_check(self, table: str, cmd: Any) -> None:
        """Follow ``CHECK (col IS NOT NULL)`` constraints: added, validated, dropped."""
        from schemaops.statements import AT

        key = (table, str(cmd.name))
        if cmd.subtype == AT.AT_AddConstraint and cmd.def_.contype.name == "CONSTR_CHECK":
            self.checks[(table, str(cmd.def_.conname))] = not cmd.def_.skip_validation
        elif cmd.subtype == AT.AT_ValidateConstraint and key in self.checks:
            self.checks[key] = True
        elif cmd.subtype == AT.AT_DropConstraint:
            self.checks.pop(key, None)
        if cmd.subtype == AT.AT_AddConstraint:
            column = not_null_check_column(cmd.def_)
            if column is not None:
                name = str(cmd.def_.conname or f"{table}_{column}_check")
                self.not_null_checks[(table, name)] = [column, not cmd.def_.skip_validation]
        elif cmd.subtype == AT.AT_ValidateConstraint and (table, str(cmd.name)) in (
            self.not_null_checks
        ):
            self.not_null_checks[(table, str(cmd.name))][1] = True
        elif cmd.subtype == AT.AT_DropConstraint:
            self.not_null_checks.pop((table, str(cmd.name)), None)

    def _record_partitions(self, node: Any) -> None:
        from pglast import ast

        from schemaops.statements import AT, alter_commands, relname

        if isinstance(node, ast.CreateStmt):
            table = relname(node.relation)
            if node.partspec is not None and table:
                self.partitions.setdefault(table, [])
            for parent in node.inhRelations or () if node.partbound is not None else ():
                self._add_partition(relname(parent), table)
        for table, cmd in alter_commands(node):
            if cmd.subtype == AT.AT_AttachPartition:
                self._add_partition(table, relname(cmd.def_.name))

    def _record_views(self, node: Any) -> None:
        from pglast import ast, enums

        from schemaops.statements import relname

        if isinstance(node, ast.ViewStmt):
            name, query = relname(node.view), node.query
        elif (
            isinstance(node, ast.CreateTableAsStmt)
            and node.objtype == enums.ObjectType.OBJECT_MATVIEW
        ):
            name, query = relname(getattr(node.into, "rel", None)), node.query
        elif isinstance(node, ast.DropStmt) and node.removeType in (
            enums.ObjectType.OBJECT_VIEW,
            enums.ObjectType.OBJECT_MATVIEW,
        ):
            for parts in node.objects or ():
                self.views.pop(str(parts[-1].sval), None)
            return
        else:
            return
        if name:
            self.views[name] = ViewDependency.of(query)

    def _add_partition(self, parent: str | None, child: str | None) -> None:
        if parent and child and child not in self.partitions.setdefault(parent, []):
            self.partitions[parent].append(child)


@dataclass
class ViewDependency:
    """What a view's query reads: its tables, and the column names it mentions.

    ``columns`` is None when the query selects ``*`` (every column the table
    had when the view was made). Columns are matched by name, whatever table
    they belong to: a view that mentions ``code`` depends on every ``code``.
    """

    tables: set[str]
    columns: set[str] | None

    @classmethod
    def of(cls, query: Any) -> ViewDependency:
        tables, columns, star = query_reads(query)
        return cls(set(tables), None if star else set(columns))

    def uses_column(self, column: str) -> bool:
        return self.columns is None or column in self.columns


def query_reads(query: Any) -> tuple[frozenset[str], frozenset[str], bool]:
    """What a query (a view's) reads: the tables it names, the column names it mentions
    (by name, whatever their table), and whether it selects ``*`` anywhere."""
    from pglast import ast
    from pglast.visitors import Visitor

    tables: set[str] = set()
    columns: set[str] = set()
    star = False

    class Reads(Visitor):  # type: ignore[misc]
        def visit_RangeVar(self, ancestors: Any, node: Any) -> None:
            tables.add(str(node.relname))

        def visit_ColumnRef(self, ancestors: Any, node: Any) -> None:
            nonlocal star
            last = (node.fields or (None,))[-1]
            if isinstance(last, ast.A_Star):
                star = True
            elif isinstance(last, ast.String):
                columns.add(str(last.sval))

    Reads()(query)
    return frozenset(tables), frozenset(columns), star


def not_null_check_column(constraint: Any) -> str | None:
    """The column of a ``CHECK (col IS NOT NULL)`` constraint node, else None."""
    from pglast import ast, enums

    from schemaops.statements import names

    if not isinstance(constraint, ast.Constraint):
        return None
    if constraint.contype != enums.ConstrType.CONSTR_CHECK:
        return None
    expr = constraint.raw_expr
    if not isinstance(expr, ast.NullTest) or expr.nulltesttype != enums.NullTestType.IS_NOT_NULL:
        return None
    if not isinstance(expr.arg, ast.ColumnRef):
        return None
    parts = names(expr.arg.fields)
    return str(parts[-1]) if parts else None


def _flat(operations: Iterable[Any]) -> Iterable[Any]:
    for op in operations:
        if isinstance(op, migrations.SeparateDatabaseAndState):
            yield from _flat(op.database_operations)
        else:
            yield op


def _relaxes(field_obj: Any) -> bool:
    """INSERTs may leave the column out (nullable, a non-NULL db default, generated...)."""
    from schemaops.columns import insert_may_omit

    return insert_may_omit(field_obj)


def _field_column(app_label: str, op: Any, state: Any) -> tuple[Column, Any] | None:
    """((table, column), field as it was) of a field operation, from the state before it."""
    from schemaops.plan import column_for, db_table_for

    if not isinstance(op, migrations.RemoveField | migrations.AlterField):
        return None
    model = state.models.get((app_label, op.model_name_lower))
    old = model.fields.get(op.name) if model is not None else None
    if old is None or getattr(old, "many_to_many", False):
        return None
    table = db_table_for(model.app_label, model.name, model.options)
    return (table, column_for(op.name, old)), old
