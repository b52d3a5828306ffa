"""Lock map, SQL side: the locks one parsed statement takes (PostgreSQL 15).

See :mod:`schemaops.checks._lockmap` for the public contract. The ALTER
TABLE levels follow PostgreSQL's ``AlterTableGetLockLevel``: ACCESS
EXCLUSIVE unless the manual says otherwise; the statement takes the
strongest level of its actions (as squawk's ``require_timeout_settings``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from pglast import ast, enums

from schemaops.columns import (
    ColumnType,
    binary_coercible,
    field_db_type,
    timezone_flip,
    type_from_node,
)
from schemaops.locks import Lock
from schemaops.statements import AT, CONSTR, column_constraints, relname, volatility

AE, EXCL, SRE = Lock.ACCESS_EXCLUSIVE, Lock.EXCLUSIVE, Lock.SHARE_ROW_EXCLUSIVE
SHARE, SUE, RX = Lock.SHARE, Lock.SHARE_UPDATE_EXCLUSIVE, Lock.ROW_EXCLUSIVE
OBJ = enums.ObjectType


@dataclass(frozen=True)
class LockStep:
    """One statement's effect on one relation."""

    table: str
    lock: Lock
    slow: bool  # rewrites or scans: time grows with the table's size
    action: str  # what takes it, for messages: "ADD COLUMN", "CREATE INDEX", ...
    statement: int = 0  # index of the statement within its operation

    def renumbered(self, statement: int) -> LockStep:
        return replace(self, statement=statement)


class StateSchema:
    """Answers catalog questions from a Django ProjectState (no database).

    ``before``: the model (state or :class:`~schemaops.plan.ModelSnapshot`) of the
    operation whose SQL is read, as it was before the operation; its table is
    answered from it (a ``RemoveField``'s column is gone from the state after).
    """

    def __init__(
        self, state: Any, pg_version: int = 15, before: Any = None, *, utc_session: bool = False
    ) -> None:
        self.state = state
        self.pg_version = pg_version
        self.before = before
        # the migration's session TimeZone is UTC: timestamp <-> timestamptz keeps the table
        self.utc_session = utc_session
        self._tables: dict[str, Any] | None = None
        # a table renamed by an earlier statement: new name -> the name the state knows
        self.renamed: dict[str, str] = {}

    @property
    def tables(self) -> dict[str, Any]:
        if self._tables is None:
            from schemaops.plan import db_table_for

            self._tables = {
                db_table_for(m.app_label, m.name, m.options): m
                for m in (self.state.models.values() if self.state is not None else ())
            }
            if self.before is not None:
                before = self.before
                self._tables[db_table_for(before.app_label, before.name, before.options)] = before
        return self._tables

    def index_table(self, index: str) -> str | None:
        for table, model in self.tables.items():
            for item in (*model.options.get("indexes", ()), *model.options.get("constraints", ())):
                if getattr(item, "name", None) == index:
                    return table
        return self._django_named(index, ("", "_idx", "_like", "_uniq"))

    def constraint_target(self, table: str, constraint: str) -> str | None:
        """The table a foreign key constraint of ``table`` references, when the constraint
        has the name Django gives it (``..._fk`` offline, ``..._fk_<table>_<column>`` as
        created); None for another constraint, or one the state cannot name."""
        for column, field in self._columns_of(table):
            target = self.fk_target(table, column)
            if target is None:
                continue
            suffixes = ("_fk", f"_fk_{target}_{self._to_column(table, field)}")
            if any(_django_name(table, [column], suffix) == constraint for suffix in suffixes):
                return target
        return None

    def _to_column(self, table: str, field: Any) -> str:
        """The column a foreign key points at: its ``to_field``, else the target's pk."""
        from schemaops.plan import column_for

        to_field = getattr(field.remote_field, "field_name", None)
        target = self._target_model(self.tables[table], field)
        if to_field and target is not None and to_field in target.fields:
            return column_for(to_field, target.fields[to_field])
        pk = _pk_field(target) if target is not None else None
        name = next((n for n, f in target.fields.items() if f is pk), "id") if pk else "id"
        return column_for(name, pk) if pk is not None else "id"

    def _django_named(self, index: str, suffixes: tuple[str, ...]) -> str | None:
        """The table of a one-column index Django named (a field's ``db_index``, its
        ``_like`` twin, ``unique``): the names its schema editor gives, from the state."""
        for table in self.tables:
            if not index.startswith(table[:20]):
                continue  # Django's names start with the table's (at most truncated)
            for column, _field in self._columns_of(table):
                if any(_django_name(table, [column], s) == index for s in suffixes):
                    return table
        return None

    def _columns_of(self, table: str) -> list[tuple[str, Any]]:
        from schemaops.columns import has_column
        from schemaops.plan import column_for

        model = self.tables.get(table)
        fields = model.fields.items() if model is not None else ()
        return [(column_for(name, f), f) for name, f in fields if has_column(f)]

    def _field(self, table: str, column: str) -> tuple[Any, Any] | None:
        from schemaops.plan import column_for

        model = self.tables.get(table)
        for name, field in model.fields.items() if model else ():
            if column_for(name, field) == column:
                return model, field
        return None

    def column_type(self, table: str, column: str) -> ColumnType | None:
        found = self._field(table, column)
        if found is None:
            return None
        model, field = found
        related = None
        if getattr(field, "remote_field", None) is not None:
            target = self._target_model(model, field)
            related = _pk_field(target) if target is not None else None
        return field_db_type(field, related, self.pg_version)

    def column_indexes(self, table: str, column: str) -> list[str]:
        """The indexes on the column the state knows (``_lockmap_ops.column_indexes``)."""
        from schemaops.checks._lockmap_ops import column_indexes

        found = self._field(table, column)
        if found is None:
            return []
        model, field = found
        name = next(n for n, f in model.fields.items() if f is field)
        return column_indexes(model, name)

    def check_constraints(self, table: str, column: str) -> list[str]:
        """Names of the CHECK constraints PostgreSQL re-verifies when the column's type changes.

        ``Meta.constraints`` CheckConstraints that mention the field, and the
        built-in check of a PositiveIntegerField-style field. Checks added by
        RunSQL are not in the state, so they are not known here.
        """
        found = self._field(table, column)
        return field_checks(table, column, *found) if found else []

    def domain_tables(self, domain: str) -> list[str]:
        """Tables with a column declared with the domain (a custom field's ``db_type``)."""
        return list(dict.fromkeys(table for table, _model, _column in self.type_columns(domain)))

    def type_columns(self, type_name: str) -> list[tuple[str, Any, str]]:
        """(table, model state, column) of every column whose type is a domain or enum type."""
        from schemaops.plan import column_for

        out = []
        for table, model in self.tables.items():
            for name, field in model.fields.items():
                if getattr(field, "remote_field", None) is not None:
                    continue
                col = field_db_type(field, None, self.pg_version)
                if col is not None and col.name == type_name.lower():
                    out.append((table, model, column_for(name, field)))
        return out

    def referenced_tables(self, table: str) -> list[str]:
        """Tables the foreign keys of ``table`` point at (a join table's two sides too)."""
        from schemaops.catalog import join_tables
        from schemaops.plan import column_for

        join = join_tables(self.state).get(table) if self.state is not None else None
        if join is not None:
            return list(dict.fromkeys(t for t in (join.owner, self._join_target(join)) if t))
        model = self.tables.get(table)
        out = []
        for name, field in model.fields.items() if model else ():
            target = self.fk_target(table, column_for(name, field))
            if target is not None:
                out.append(target)
        return list(dict.fromkeys(out))

    def _join_target(self, join: Any) -> str | None:
        from schemaops.plan import db_table_for

        owner = self.tables.get(join.owner)
        field = owner.fields.get(join.field) if owner is not None else None
        target = self._target_model(owner, field) if field is not None else None
        return db_table_for(target.app_label, target.name, target.options) if target else None

    def fk_target(self, table: str, column: str) -> str | None:
        found = self._field(table, column)
        if found is None or not getattr(found[1], "db_constraint", False):
            return None
        target = self._target_model(*found)
        if target is None or found[1].many_to_many:
            return None
        from schemaops.plan import db_table_for

        return db_table_for(target.app_label, target.name, target.options)

    def _target_model(self, model: Any, field: Any) -> Any:
        from django.db.migrations.utils import resolve_relation

        key = resolve_relation(field.remote_field.model, model.app_label, model.name.lower())
        return self.state.models.get(key)


def _django_name(table: str, columns: list[str], suffix: str) -> str:
    from schemaops.plan import django_index_name

    return django_index_name(table, columns, suffix)


_CHECKED_TYPES = ("PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField")


def builtin_check(field: Any) -> bool:
    """Does Django give this field a CHECK constraint of its own (``"col" >= 0``)?

    Django keys the check on ``get_internal_type()``, so a project's subclass of
    ``PositiveSmallIntegerField`` (a rating, a quantity) gets the same CHECK.
    """
    return str(field.get_internal_type()) in _CHECKED_TYPES


def constraint_fields(constraint: Any) -> set[str]:
    """Field names (or attnames) a CheckConstraint's condition mentions."""
    condition = getattr(constraint, "condition", None)
    if condition is None:
        condition = getattr(constraint, "check", None)
    return _expression_fields(condition)


def _expression_fields(expr: Any) -> set[str]:
    from django.db.models import F, Q

    out: set[str] = set()
    if isinstance(expr, Q):
        for child in expr.children:
            if isinstance(child, tuple):
                out.add(str(child[0]).split("__")[0])
                out |= _expression_fields(child[1])
            else:
                out |= _expression_fields(child)
    elif isinstance(expr, F):
        out.add(str(getattr(expr, "name", "")).split("__")[0])
    elif isinstance(expr, list | tuple):
        for item in expr:
            out |= _expression_fields(item)
    elif hasattr(expr, "get_source_expressions"):
        out |= _expression_fields(expr.get_source_expressions())
    return out


def field_checks(table: str, column: str, model: Any, field: Any) -> list[str]:
    """Names of the CHECK constraints on one column of a model (state or snapshot)."""
    name = next((n for n, f in model.fields.items() if f is field), None)
    wanted = {name, column, getattr(field, "attname", None)} - {None}
    out = [
        str(c.name)
        for c in model.options.get("constraints", ())
        if type(c).__name__ == "CheckConstraint" and constraint_fields(c) & wanted
    ]
    if builtin_check(field):
        from schemaops.plan import django_index_name

        out.append(django_index_name(table, [column], "_check"))
    return out


def _pk_field(model: Any) -> Any:
    for field in model.fields.values():
        if getattr(field, "primary_key", False):
            return field
    return None


# -- statements -------------------------------------------------------------------


def statement_steps(node: Any, schema: Any = None, pg_version: int = 15) -> list[LockStep]:
    """Lock steps of one parsed statement (one per relation it locks)."""
    handler = _HANDLERS.get(type(node).__name__)
    steps = list(handler(node, schema, pg_version)) if handler else []
    renamed = getattr(schema, "renamed", None)
    if not renamed:
        return steps
    # a relation renamed earlier in the walk is the same relation: one name for its locks
    return [replace(s, table=renamed.get(s.table, s.table)) for s in steps]


Steps = Iterator[LockStep]


def _alter_table(node: Any, schema: Any, pg_version: int) -> Steps:
    if node.objtype == OBJ.OBJECT_INDEX:
        yield from _alter_index(node)
        return
    table = relname(node.relation)
    if table is None or node.objtype not in (OBJ.OBJECT_TABLE, OBJ.OBJECT_MATVIEW):
        return
    for cmd in node.cmds or ():
        yield from _alter_cmd(table, cmd, schema, pg_version)


def _alter_index(node: Any) -> Steps:
    index = relname(node.relation)
    for cmd in node.cmds or ():
        if index is None:
            continue
        if cmd.subtype == AT.AT_SetTableSpace:
            yield LockStep(index, AE, True, "ALTER INDEX SET TABLESPACE")
        elif cmd.subtype in (AT.AT_SetRelOptions, AT.AT_ResetRelOptions):
            yield LockStep(index, SUE, False, "ALTER INDEX SET")
        else:
            yield LockStep(index, AE, False, "ALTER INDEX")


# Actions that take less than ACCESS EXCLUSIVE on the altered table.
_WEAKER = {
    AT.AT_SetStatistics: SUE,
    AT.AT_SetOptions: SUE,
    AT.AT_ResetOptions: SUE,
    AT.AT_ValidateConstraint: SUE,
    AT.AT_ClusterOn: SUE,
    AT.AT_DropCluster: SUE,
    AT.AT_SetRelOptions: SUE,
    AT.AT_ResetRelOptions: SUE,
    AT.AT_DetachPartitionFinalize: SUE,
    AT.AT_EnableTrig: SRE,
    AT.AT_EnableAlwaysTrig: SRE,
    AT.AT_EnableReplicaTrig: SRE,
    AT.AT_DisableTrig: SRE,
    AT.AT_EnableTrigAll: SRE,
    AT.AT_DisableTrigAll: SRE,
    AT.AT_EnableTrigUser: SRE,
    AT.AT_DisableTrigUser: SRE,
}
_REWRITES = {AT.AT_SetTableSpace, AT.AT_SetAccessMethod}
_SCANS = {AT.AT_SetNotNull, AT.AT_ValidateConstraint}


def _alter_cmd(table: str, cmd: Any, schema: Any, pg_version: int) -> Steps:
    sub = cmd.subtype
    action = _action_name(sub)
    if sub == AT.AT_AddColumn:
        yield from _add_column(table, cmd.def_, pg_version)
    elif sub in (AT.AT_AddConstraint, AT.AT_AddIndexConstraint):
        yield from _add_constraint(table, cmd.def_)
    elif sub == AT.AT_AlterColumnType:
        slow = (
            _type_rewrites(table, cmd, schema)
            or bool(_checks(schema, table, cmd.name))
            or bool(timezone_flip_indexes(table, cmd, schema))
        )
        yield LockStep(table, AE, slow, "ALTER COLUMN TYPE")
    elif sub == AT.AT_DropColumn:
        yield LockStep(table, AE, False, "DROP COLUMN")
        target = schema.fk_target(table, cmd.name) if schema is not None else None
        if target:
            yield LockStep(target, AE, False, "DROP COLUMN (its foreign key)")
    elif sub == AT.AT_DropConstraint:
        yield LockStep(table, AE, False, action)
        # a foreign key's triggers on the referenced table are dropped too (PostgreSQL's
        # dropconstraint_internal locks it ACCESS EXCLUSIVE)
        known = getattr(schema, "constraint_target", None)
        target = known(table, cmd.name) if known is not None and cmd.name else None
        if target and target != table:
            yield LockStep(target, AE, False, "DROP CONSTRAINT (its foreign key)")
    elif sub == AT.AT_AttachPartition:
        yield LockStep(table, SUE, False, "ATTACH PARTITION")
        yield LockStep(relname(cmd.def_.name) or "?", AE, True, "ATTACH PARTITION")
    elif sub == AT.AT_DetachPartition:
        lock = SUE if cmd.def_.concurrent else AE
        yield LockStep(table, lock, False, "DETACH PARTITION")
        yield LockStep(relname(cmd.def_.name) or "?", lock, False, "DETACH PARTITION")
    else:
        yield LockStep(table, _WEAKER.get(sub, AE), sub in _REWRITES | _SCANS, action)


def _action_name(sub: Any) -> str:
    return str(sub.name).removeprefix("AT_")


# Column constraints that make ADD COLUMN fill (identity, stored) or check every row.
_SLOW_COLUMN_CONSTRAINTS = (
    CONSTR.CONSTR_IDENTITY,
    CONSTR.CONSTR_GENERATED,
    CONSTR.CONSTR_UNIQUE,
    CONSTR.CONSTR_PRIMARY,
    CONSTR.CONSTR_CHECK,
)


def _add_column(table: str, coldef: Any, pg_version: int) -> Steps:
    """ADD COLUMN: a volatile (or unknown) default rewrites; a foreign key on the new
    column is validated only when the column gets a DEFAULT (PostgreSQL skips the
    check of a column that is all NULL: ``transformAlterTableStmt``)."""
    slow = False
    targets = []
    constraints = column_constraints(coldef)
    has_default = any(con.contype == CONSTR.CONSTR_DEFAULT for con in constraints)
    for con in constraints:
        if con.contype == CONSTR.CONSTR_DEFAULT:
            slow = slow or pg_version < 11 or volatility(con.raw_expr) != "stable"
        elif con.contype in _SLOW_COLUMN_CONSTRAINTS:
            # a VIRTUAL generated column (PostgreSQL 18) is computed on read: no rewrite
            slow = slow or getattr(con, "generated_kind", "s") != "v"
        elif con.contype == CONSTR.CONSTR_FOREIGN:
            slow = slow or has_default
            targets.append(relname(con.pktable))
    col_type = type_from_node(coldef.typeName)
    if col_type is not None and col_type.name in ("serial", "bigserial", "smallserial"):
        slow = True
    yield LockStep(table, AE, slow, "ADD COLUMN")
    for target in targets:
        if target and target != table:
            yield LockStep(target, SRE, False, "ADD COLUMN ... REFERENCES")


def _add_constraint(table: str, con: Any) -> Steps:
    if con.contype == CONSTR.CONSTR_FOREIGN:
        yield LockStep(table, SRE, not con.skip_validation, "ADD FOREIGN KEY")
        target = relname(con.pktable)
        if target and target != table:
            yield LockStep(target, SRE, False, "ADD FOREIGN KEY")
        return
    uses_index = bool(con.indexname)
    slow = not con.skip_validation and not uses_index
    kind = str(con.contype.name).removeprefix("CONSTR_")
    yield LockStep(table, AE, slow, f"ADD CONSTRAINT {kind}")


def _type_rewrites(table: str, cmd: Any, schema: Any) -> bool:
    new = type_from_node(cmd.def_.typeName)
    if schema is None or new is None or cmd.def_.raw_default is not None:
        return True  # unknown old type, or a USING expression: assume a rewrite
    old = schema.column_type(table, cmd.name)
    return old is None or not binary_coercible(old, new, utc_session=schema.utc_session)


def timezone_flip_indexes(table: str, cmd: Any, schema: Any) -> list[str]:
    """The column's indexes an ``ALTER COLUMN TYPE`` between ``timestamp`` and
    ``timestamptz`` rebuilds (it keeps the table in a UTC session; not its indexes)."""
    new = type_from_node(cmd.def_.typeName)
    old = schema.column_type(table, cmd.name) if schema is not None else None
    if old is None or new is None or not timezone_flip(old, new):
        return []
    return list(schema.column_indexes(table, cmd.name))


def _checks(schema: Any, table: str, column: str) -> list[str]:
    """CHECK constraints a type change re-verifies with a full scan (even without a rewrite)."""
    lookup = getattr(schema, "check_constraints", None)
    return list(lookup(table, column)) if lookup is not None else []


def _alter_domain(node: Any, schema: Any, pg_version: int) -> Steps:
    """ADD CONSTRAINT (validated), SET NOT NULL and VALIDATE CONSTRAINT on a domain
    check every column declared with it: SHARE on each of their tables, for a scan."""
    sub = node.subtype
    validates = (sub == "C" and not node.def_.skip_validation) or sub in ("O", "V")
    lookup = getattr(schema, "domain_tables", None)
    if not validates or lookup is None:
        return
    domain = ast_names(node.typeName)[-1]
    action = {"C": "ALTER DOMAIN ADD CONSTRAINT", "O": "ALTER DOMAIN SET NOT NULL"}
    for table in lookup(domain):
        yield LockStep(table, SHARE, True, action.get(sub, "ALTER DOMAIN VALIDATE CONSTRAINT"))


def _create_index(node: Any, schema: Any, pg_version: int) -> Steps:
    table = relname(node.relation)
    if table:
        lock = SUE if node.concurrent else SHARE
        yield LockStep(table, lock, True, "CREATE INDEX" + (" CONCURRENTLY" * node.concurrent))


def _drop(node: Any, schema: Any, pg_version: int) -> Steps:
    kind = node.removeType
    if kind not in (OBJ.OBJECT_INDEX, OBJ.OBJECT_TABLE, OBJ.OBJECT_MATVIEW):
        return
    for obj in node.objects or ():
        name = ast_names(obj)[-1]
        if kind == OBJ.OBJECT_INDEX:
            table = schema.index_table(name) if schema is not None else None
            lock = SUE if node.concurrent else AE
            yield LockStep(table or name, lock, False, "DROP INDEX")
        else:
            yield LockStep(name, AE, False, "DROP TABLE")
            # its foreign keys' triggers on the referenced tables go too
            referenced = getattr(schema, "referenced_tables", None)
            for target in referenced(name) if referenced is not None else ():
                if target != name:
                    yield LockStep(target, AE, False, "DROP TABLE (its foreign key)")


def ast_names(obj: Any) -> list[str]:
    if isinstance(obj, tuple | list):
        return [str(n.sval) for n in obj if isinstance(n, ast.String)] or ["?"]
    return [getattr(obj, "sval", "?")]


def _reindex(node: Any, schema: Any, pg_version: int) -> Steps:
    concurrent = any(p.defname == "concurrently" for p in node.params or ())
    name = relname(node.relation)
    if name is None:
        return  # REINDEX SCHEMA/DATABASE/SYSTEM: no single relation
    kind = enums.ReindexObjectType
    if node.kind == kind.REINDEX_OBJECT_INDEX:
        yield LockStep(name, SUE if concurrent else AE, True, "REINDEX INDEX")
        table = schema.index_table(name) if schema is not None else None
        if table:
            yield LockStep(table, SUE if concurrent else SHARE, True, "REINDEX INDEX")
    else:
        yield LockStep(name, SUE if concurrent else SHARE, True, "REINDEX TABLE")


def _vacuum(node: Any, schema: Any, pg_version: int) -> Steps:
    options = {o.defname for o in node.options or ()}
    full = "full" in options
    for rel in node.rels or ():
        table = relname(rel.relation)
        if not table:
            continue
        if full:
            yield LockStep(table, AE, True, "VACUUM FULL")
        elif node.is_vacuumcmd:
            yield LockStep(table, SUE, True, "VACUUM")
        else:
            yield LockStep(table, SUE, False, "ANALYZE")


def _cluster(node: Any, schema: Any, pg_version: int) -> Steps:
    table = relname(node.relation)
    if table:
        yield LockStep(table, AE, True, "CLUSTER")


def _truncate(node: Any, schema: Any, pg_version: int) -> Steps:
    for rel in node.relations or ():
        yield LockStep(relname(rel) or "?", AE, False, "TRUNCATE")


def _dml(action: str, slow: Callable[[Any], bool]) -> Callable[[Any, Any, int], Steps]:
    def handler(node: Any, schema: Any, pg_version: int) -> Steps:
        table = relname(node.relation)
        if table:
            yield LockStep(table, RX, slow(node), action)

    return handler


def _lock_table(node: Any, schema: Any, pg_version: int) -> Steps:
    lock = _LOCK_MODES.get(int(node.mode), AE)
    for rel in node.relations or ():
        yield LockStep(relname(rel) or "?", lock, False, f"LOCK TABLE IN {lock.value} MODE")


# LOCKMODE numbers of PostgreSQL's lockdefs.h, as pglast reports them.
_LOCK_MODES = {
    1: Lock.ACCESS_SHARE,
    2: Lock.ROW_SHARE,
    3: Lock.ROW_EXCLUSIVE,
    4: Lock.SHARE_UPDATE_EXCLUSIVE,
    5: Lock.SHARE,
    6: Lock.SHARE_ROW_EXCLUSIVE,
    7: Lock.EXCLUSIVE,
    8: Lock.ACCESS_EXCLUSIVE,
}


def _create_table(node: Any, schema: Any, pg_version: int) -> Steps:
    table = relname(node.relation)
    for parent in node.inhRelations or ():
        if node.partbound is not None:
            yield LockStep(relname(parent) or "?", AE, False, "CREATE TABLE ... PARTITION OF")
    for element in node.tableElts or ():
        cons = column_constraints(element) if isinstance(element, ast.ColumnDef) else [element]
        for con in cons:
            if isinstance(con, ast.Constraint) and con.contype == CONSTR.CONSTR_FOREIGN:
                target = relname(con.pktable)
                if target and target != table:
                    yield LockStep(target, SRE, False, "CREATE TABLE ... REFERENCES")


def _create_trigger(node: Any, schema: Any, pg_version: int) -> Steps:
    table = relname(node.relation)
    if table:
        yield LockStep(table, SRE, False, "CREATE TRIGGER")


def _rename(node: Any, schema: Any, pg_version: int) -> Steps:
    name = relname(node.relation)
    if name is None:
        return
    if node.renameType == OBJ.OBJECT_INDEX:
        yield LockStep(name, SUE, False, "ALTER INDEX RENAME")
    elif node.renameType in (OBJ.OBJECT_TABLE, OBJ.OBJECT_COLUMN, OBJ.OBJECT_TABCONSTRAINT):
        yield LockStep(name, AE, False, "RENAME")
        renamed = getattr(schema, "renamed", None)
        if node.renameType == OBJ.OBJECT_TABLE and renamed is not None and node.newname:
            renamed[str(node.newname)] = renamed.get(name, name)


def _comment(node: Any, schema: Any, pg_version: int) -> Steps:
    if node.objtype in (OBJ.OBJECT_TABLE, OBJ.OBJECT_COLUMN):
        parts = ast_names(node.object)
        table = parts[-1] if node.objtype == OBJ.OBJECT_TABLE else parts[-2]
        yield LockStep(table, SUE, False, "COMMENT ON")


def _refresh(node: Any, schema: Any, pg_version: int) -> Steps:
    view = relname(node.relation)
    if view:
        yield LockStep(view, EXCL if node.concurrent else AE, True, "REFRESH MATERIALIZED VIEW")


def _set_schema(node: Any, schema: Any, pg_version: int) -> Steps:
    name = relname(node.relation)
    if name and node.objectType in (OBJ.OBJECT_TABLE, OBJ.OBJECT_INDEX):
        yield LockStep(name, AE, False, "SET SCHEMA")


_HANDLERS: dict[str, Callable[[Any, Any, int], Steps]] = {
    "AlterTableStmt": _alter_table,
    "IndexStmt": _create_index,
    "DropStmt": _drop,
    "ReindexStmt": _reindex,
    "VacuumStmt": _vacuum,
    "ClusterStmt": _cluster,
    "TruncateStmt": _truncate,
    "UpdateStmt": _dml("UPDATE", lambda n: True),
    "DeleteStmt": _dml("DELETE", lambda n: True),
    "InsertStmt": _dml("INSERT", lambda n: n.selectStmt is not None and not _values(n)),
    "LockStmt": _lock_table,
    "CreateStmt": _create_table,
    "CreateTrigStmt": _create_trigger,
    "RenameStmt": _rename,
    "CommentStmt": _comment,
    "RefreshMatViewStmt": _refresh,
    "AlterObjectSchemaStmt": _set_schema,
    "AlterDomainStmt": _alter_domain,
}


def _values(node: Any) -> bool:
    select = node.selectStmt
    return isinstance(select, ast.SelectStmt) and bool(select.valuesLists)
