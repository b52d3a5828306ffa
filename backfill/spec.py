"""What a backfill writes: resolve ``app.Model --set ...`` or ``app.Backfill`` into a :class:`Spec`.

SQL given with ``--set``/``--where`` is the operator's own SQL. It is parsed
with pglast (one ``UPDATE ... SET`` list, one ``WHERE`` predicate, nothing
else), re-emitted from the parse tree, and combined with identifiers quoted
by psycopg2's ``sql`` module. Target columns and plain column references are
checked against the model; a mistake is a one-line error (exit 2).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

import pglast
from django.db.backends.postgresql.psycopg_any import sql  # the driver Django uses
from pglast import ast, visitors
from pglast.parser import ParseError
from pglast.stream import RawStream

from schemaops.backfill.base import Backfill
from schemaops.backfill.batching import Range
from schemaops.backfill.keys import Keyset
from schemaops.errors import ConfigError, SQLParseError, UnknownAppError
from schemaops.spelling import did_you_mean

_INTEGER_PKS = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField"}


@dataclass(frozen=True)
class Spec:
    """A resolved backfill: the table, its integer primary key, and what to write."""

    target: str
    kind: str  # "sql" or "python"
    db_table: str
    pk_column: str
    assignments: tuple[tuple[str, str], ...] = ()
    where: str = ""
    backfill: Backfill | None = field(default=None, compare=False)
    # Updated exactly once per row by the ledger alone: the batch statement does not skip
    # rows that look right, and the sweep counts rows no done batch covers.
    non_idempotent: bool = False
    # A key that is not one integer column: its columns, walked in index order (keys.py);
    # the types are the server's, filled in when the run is created.
    key_columns: tuple[str, ...] = ()
    keyset: Keyset | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """Identity of the run: the same target and SQL resume the same run."""
        facts: list[Any] = [self.target, self.kind, self.assignments, self.where]
        raw = json.dumps(facts + (["non-idempotent"] if self.non_idempotent else []))
        return hashlib.sha256(raw.encode()).hexdigest()


def resolve(
    target: str,
    set_values: tuple[str, ...] = (),
    where: str | None = None,
    non_idempotent: bool = False,
) -> Spec:
    """``app.Model`` with ``--set``, or ``app.BackfillClass`` from ``<app>/backfills.py``."""
    app_label, _, name = target.partition(".")
    if not app_label or not name:
        raise ConfigError(f"backfill target {target!r} must look like app_label.Model")
    app_config = _app_config(app_label)
    model = _find_model(app_config, name)
    if model is not None:
        if not set_values:
            raise ConfigError(f'{target} is a model: give --set "field = <SQL expression>"')
        spec = _sql_spec(target, model, set_values, where)
        return replace(spec, non_idempotent=non_idempotent)
    backfill_class = _find_backfill(app_config, name)
    if backfill_class is None:
        models = [m.__name__ for m in app_config.get_models()]
        raise ConfigError(
            f"{target}: no model {name!r} in app {app_label!r} and no Backfill subclass "
            f"{name!r} in {app_config.name}.backfills{did_you_mean(name, models)}"
        )
    if set_values or where:
        raise ConfigError(f"{target} is a Python Backfill: --set/--where do not apply")
    if non_idempotent:
        raise ConfigError(f"{target} is a Python Backfill: its process() must be idempotent")
    return python_spec(target, backfill_class())


def python_spec(target: str, backfill: Backfill) -> Spec:
    model = backfill.model_class()
    if _key_columns(model):
        raise ConfigError(
            f"{target}: a Python Backfill needs an integer primary key; {model._meta.label}"
            " has another kind: use --set on the model"
        )
    return Spec(target, "python", model._meta.db_table, _pk_column(model), backfill=backfill)


def load(run: Any) -> Spec:
    """The Spec of a stored run (a Python backfill is imported again by name)."""
    if run.kind == "python":
        return resolve(run.target)
    pairs = tuple((str(c), str(e)) for c, e in run.assignments)
    once = bool(run.options.get("non_idempotent", False))
    columns = tuple(run.key_columns)
    keyset = Keyset(run.db_table, columns, tuple(run.key_types)) if columns else None
    return Spec(
        run.target, "sql", run.db_table, run.pk_column, pairs, run.where, None, once,
        columns, keyset,
    )  # fmt: skip


def column_names(target: str) -> dict[str, str]:
    """Field names and column names of a ``--set`` target's model, mapped to columns."""
    app_label, _, name = target.partition(".")
    return _columns(_find_model(_app_config(app_label), name))


def _app_config(app_label: str) -> Any:
    from django.apps import apps

    try:
        return apps.get_app_config(app_label)
    except LookupError:
        known = ", ".join(sorted(a.label for a in apps.get_app_configs()))
        raise UnknownAppError(f"unknown app {app_label!r} (installed: {known})") from None


def _find_model(app_config: Any, name: str) -> Any:
    for model in app_config.get_models():
        if model.__name__.lower() == name.lower():
            return model
    return None


def _find_backfill(app_config: Any, name: str) -> type[Backfill] | None:
    module_name = f"{app_config.name}.backfills"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    found = getattr(module, name, None)
    if isinstance(found, type) and issubclass(found, Backfill) and found is not Backfill:
        return found
    return None


def _pk_column(model: Any) -> str:
    """The first primary-key column (the only one of an integer key)."""
    pk = model._meta.pk
    return str(pk.fields[0].column if _is_composite(pk) else pk.column)


def _is_composite(pk: Any) -> bool:
    return pk.get_internal_type() == "CompositePrimaryKey"


def _key_columns(model: Any) -> tuple[str, ...]:
    """() for one integer key column (cut by arithmetic); else every key column in order."""
    pk = model._meta.pk
    if _is_composite(pk):
        return tuple(str(f.column) for f in pk.fields)
    internal = pk.target_field.get_internal_type() if pk.is_relation else pk.get_internal_type()
    return () if internal in _INTEGER_PKS else (str(pk.column),)


def _sql_spec(target: str, model: Any, set_values: tuple[str, ...], where: str | None) -> Spec:
    columns = _columns(model)
    pairs: list[tuple[str, str]] = []
    for text in set_values:
        pairs.extend(parse_assignments(text, columns, model._meta.label))
    if len({c for c, _ in pairs}) != len(pairs):
        raise ConfigError("the same column is set twice")
    predicate = parse_where(where, columns, model._meta.label) if where else ""
    return Spec(
        target, "sql", model._meta.db_table, _pk_column(model), tuple(pairs), predicate,
        key_columns=_key_columns(model),
    )  # fmt: skip


def _columns(model: Any) -> dict[str, str]:
    """Field name and column name -> column, for the model's concrete fields."""
    names: dict[str, str] = {}
    for f in model._meta.concrete_fields:
        names[f.name] = f.column
        names[f.column] = f.column
    for column in _database_only_columns(model, names):
        names[column] = column
    return names


def _database_only_columns(model: Any, known: dict[str, str]) -> list[str]:
    """The table's columns no field names: the shadow column of an online type change
    (``schemaops fix``) lives only in the database until the swap. [] when unreadable."""
    from django.db import connections, router

    try:
        connection = connections[router.db_for_write(model)]
        with connection.cursor() as cursor:
            found = connection.introspection.get_table_description(cursor, model._meta.db_table)
    except Exception:
        return []
    return [str(c.name) for c in found if c.name not in known]


def parse_assignments(text: str, columns: dict[str, str], label: str) -> list[tuple[str, str]]:
    """``"a = expr, b = expr"`` -> [(column, normalized expr)], via pglast."""
    stmt = _parse_one(f"UPDATE _t SET {text}", "--set")
    if not isinstance(stmt, ast.UpdateStmt) or stmt.whereClause or stmt.fromClause:
        raise SQLParseError(f"--set must be 'field = <SQL expression>', got {text!r}")
    pairs = []
    for target in stmt.targetList or ():
        if target.indirection:
            raise SQLParseError(
                f"--set {target.name!r}: subscripts and subfields are not supported"
            )
        column = _column(target.name, columns, label)
        _check_refs(target.val, columns, label)
        pairs.append((column, RawStream()(target.val)))
    return pairs


def parse_where(text: str, columns: dict[str, str], label: str) -> str:
    """A boolean predicate, normalized through pglast."""
    stmt = _parse_one(f"SELECT 1 FROM _t WHERE {text}", "--where")
    if not isinstance(stmt, ast.SelectStmt) or stmt.whereClause is None or _has_tail(stmt):
        raise SQLParseError(f"--where must be one SQL predicate, got {text!r}")
    _check_refs(stmt.whereClause, columns, label)
    return str(RawStream()(stmt.whereClause))


def _has_tail(stmt: Any) -> bool:
    return bool(stmt.groupClause or stmt.sortClause or stmt.limitCount or stmt.havingClause)


def _parse_one(text: str, option: str) -> Any:
    try:
        statements = pglast.parse_sql(text)
    except ParseError as exc:
        raise SQLParseError(f"{option}: cannot parse SQL: {exc}") from None
    if len(statements) != 1:
        raise SQLParseError(f"{option}: expected one expression, got {len(statements)} statements")
    return statements[0].stmt


def _column(name: str, columns: dict[str, str], label: str) -> str:
    if name in columns:
        return columns[name]
    close = difflib.get_close_matches(name, list(columns), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"{label} has no field {name!r}{hint}")


class _Refs(visitors.Visitor):  # type: ignore[misc]
    def __init__(self) -> None:
        self.names: list[str] = []
        self.subquery = False

    def visit_ColumnRef(self, ancestors: Any, node: Any) -> None:
        parts = [getattr(f, "sval", None) for f in node.fields]
        if len(parts) == 1 and parts[0]:
            self.names.append(parts[0])

    def visit_SubLink(self, ancestors: Any, node: Any) -> None:
        self.subquery = True


def _check_refs(node: Any, columns: dict[str, str], label: str) -> None:
    """Plain column names must exist; expressions with subqueries are the operator's own."""
    refs = _Refs()
    refs(node)
    if not refs.subquery:
        for name in refs.names:
            _column(name, columns, label)


def batch_statement(spec: Spec, rng: Range, part: int = 0, parts: int = 1) -> Any:
    """The idempotent UPDATE of one range (or of one of its ``parts``: the rows whose key
    modulo ``parts`` is ``part``): rows already right are not touched."""
    table, pk = sql.Identifier(spec.db_table), sql.Identifier(spec.pk_column)
    sets = sql.SQL(", ").join(
        sql.SQL("{} = ({})").format(sql.Identifier(c), sql.SQL(e)) for c, e in spec.assignments
    )
    of_part = part_predicate(spec, part, parts)
    if rng.keys is not None:
        assert spec.keyset is not None  # a run over such a key stores its keyset
        # A range of a partitioned table updates its leaf partition: no other is read.
        leaf = sql.Identifier(rng.keys.table) if rng.keys.table else table
        return sql.SQL("UPDATE {t} SET {sets} WHERE {within} AND {todo}").format(
            t=leaf, sets=sets, within=spec.keyset.within(rng.keys), todo=pending_predicate(spec)
        )
    return sql.SQL(
        "UPDATE {t} SET {sets} WHERE {pk} >= {lo} AND {pk} < {hi}{of_part} AND {todo}"
    ).format(
        t=table,
        sets=sets,
        pk=pk,
        lo=sql.Literal(rng.lo),
        hi=sql.Literal(rng.hi),
        of_part=of_part,
        todo=pending_predicate(spec),
    )


def part_predicate(spec: Spec, part: int, parts: int) -> Any:
    """`` AND pk % parts IN (part, part - parts)`` (empty for one part)."""
    if parts <= 1:
        return sql.SQL("")
    # A negative key has a negative remainder: -3 % 2 is -1, so part 1 is (1, -1).
    return sql.SQL(" AND {pk} % {n} IN ({r}, {r_neg})").format(
        pk=sql.Identifier(spec.pk_column),
        n=sql.Literal(parts),
        r=sql.Literal(part),
        r_neg=sql.Literal(part - parts),
    )


def pending_predicate(spec: Spec) -> Any:  # sql.Composed of the driver Django uses
    """Rows that still need the update: the --where predicate and any column not yet right
    (for a non-idempotent update, every row the --where matches: the ledger keeps count)."""
    if spec.non_idempotent:
        return sql.SQL("({})").format(sql.SQL(spec.where or "true"))
    differs = sql.SQL(" OR ").join(
        sql.SQL("{} IS DISTINCT FROM ({})").format(sql.Identifier(c), sql.SQL(e))
        for c, e in spec.assignments
    )
    if spec.where:
        return sql.SQL("({}) AND ({})").format(sql.SQL(spec.where), differs)
    return sql.SQL("({})").format(differs)
