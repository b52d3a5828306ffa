"""Column facts shared by the lock map and the rewrite rules.

* :func:`normal_type` / :func:`binary_coercible`: the safe-cast matrix, i.e. which
  ``ALTER COLUMN ... TYPE`` changes PostgreSQL makes without rewriting the table
  (varchar widening, varchar to text, numeric precision up, ...);
* :func:`field_db_type`: a Django field's column type, computed offline;
* :func:`default_volatility`: whether a ``db_default`` expression is volatile,
  which makes ``ADD COLUMN ... DEFAULT`` rewrite the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError

from schemaops.statements import VOLATILE_FUNCTIONS, names, volatility

AUTO_FIELDS = ("AutoField", "BigAutoField", "SmallAutoField")
# Types whose typmod is a precision: raising it (or dropping it) never rewrites.
_PRECISION_TYPES = frozenset({"timestamp", "timestamptz", "time", "timetz", "interval"})
_LENGTH_TYPES = frozenset({"varchar", "varbit"})


@dataclass(frozen=True)
class ColumnType:
    """A column type as PostgreSQL's parser reads it: ``varchar`` + ``(20,)``."""

    name: str
    mods: tuple[int, ...] = ()
    array: bool = False

    def __str__(self) -> str:
        text = self.name + (f"({','.join(map(str, self.mods))})" if self.mods else "")
        return text + ("[]" if self.array else "")


def type_from_node(type_node: Any) -> ColumnType | None:
    """A :class:`ColumnType` from a pglast ``TypeName`` (None for ``%TYPE`` etc.)."""
    if type_node is None:
        return None
    base = [n for n in names(type_node.names) if n != "pg_catalog"]
    if not base:
        return None
    mods = []
    for mod in type_node.typmods or ():
        val = getattr(mod, "val", None)
        if isinstance(val, ast.Integer):
            mods.append(int(val.ival or 0))
    return ColumnType(base[-1].lower(), tuple(mods), bool(type_node.arrayBounds))


@lru_cache(maxsize=512)
def normal_type(text: str) -> ColumnType | None:
    """Normalize a type written as SQL (``character varying(20)`` -> ``varchar(20)``)."""
    try:
        stmt: Any = parse_sql(f"SELECT NULL::{text}")[0].stmt
    except ParseError:
        return None
    target = stmt.targetList[0].val
    return type_from_node(getattr(target, "typeName", None))


def binary_coercible(old: ColumnType, new: ColumnType, *, utc_session: bool = False) -> bool:
    """True when ``ALTER COLUMN TYPE old -> new`` needs neither a rewrite nor a scan.

    ``utc_session``: the migration's session TimeZone has a fixed offset of zero, where
    PostgreSQL (12+) turns ``timestamp`` into ``timestamptz`` and back without a rewrite
    when the new type has no precision (the column's indexes are still rebuilt: see
    :func:`timezone_flip`).
    """
    if old == new:
        return True
    if utc_session and timezone_flip(old, new):
        return not new.mods  # a precision on the new type is a coercion of its own: rewrite
    if old.array or new.array:
        return False  # an element change goes through array_coerce: a rewrite (PG 15)
    if old.name in _LENGTH_TYPES and new.name == old.name:
        return not new.mods or (bool(old.mods) and new.mods[0] >= old.mods[0])
    if {old.name, new.name} <= {"varchar", "text"}:
        return new.name == "text" or not new.mods  # to text, or to unlimited varchar
    if old.name == new.name == "numeric":
        if not new.mods:
            return True
        if len(old.mods) < 1:
            return False
        old_scale = old.mods[1] if len(old.mods) > 1 else 0
        new_scale = new.mods[1] if len(new.mods) > 1 else 0
        return new.mods[0] >= old.mods[0] and new_scale == old_scale
    if old.name in _PRECISION_TYPES and new.name == old.name:
        return not new.mods or (bool(old.mods) and new.mods[0] >= old.mods[0])
    return old.name == "cidr" and new.name == "inet"


def timezone_flip(old: ColumnType, new: ColumnType) -> bool:
    """``timestamp`` to ``timestamptz`` or back: under a UTC session no rewrite, but a new
    operator class for every index on the column, which PostgreSQL rebuilds (measured on
    PostgreSQL 15: ShareLock and a full read of the table for each)."""
    return not old.array and not new.array and {old.name, new.name} == _TIMESTAMPS


# Zones PostgreSQL knows as a fixed zero offset (pg_get_timezone_offset): Europe/London
# is not one (it has summer time), and the rewrite happens there.
_UTC_ZONES = frozenset(
    {"utc", "etc/utc", "gmt", "etc/gmt", "uct", "etc/uct", "universal", "etc/universal"}
    | {"zulu", "etc/zulu", "greenwich", "etc/greenwich", "gmt0", "etc/gmt0"}
)
_TIMESTAMPS = frozenset({"timestamp", "timestamptz"})


def utc_session(session: dict[str, str]) -> bool:
    """Does the session (``schemaops.session.connection_settings``) run in a zero-offset
    TimeZone?"""
    return session.get("timezone", "").strip().strip("'\"").lower() in _UTC_ZONES


def field_db_type(field: Any, related: Any = None, pg_version: int = 15) -> ColumnType | None:
    """The PostgreSQL column type of a (possibly unbound) Django field, offline.

    ``related`` is the target field of a foreign key (its column type is the
    target's); without it a relation field's type is unknown (None).
    """
    connection = _connection(pg_version)
    if getattr(field, "remote_field", None) is not None and not field.many_to_many:
        if related is None:
            return None
        try:
            return normal_type(str(related.rel_db_type(connection)))
        except Exception:
            return None
    try:
        text = field.db_type(connection)
    except Exception:
        return None
    return normal_type(str(text)) if text else None


@lru_cache(maxsize=8)
def _connection(pg_version: int) -> Any:
    from schemaops.plan import offline_connection

    return offline_connection(pg_version * 10000)


def has_column(field: Any) -> bool:
    """Does Django give this (possibly unbound) field a column of its own?

    Not a many-to-many-like field (a table of its own, or a through model's),
    not a ``ForeignObject`` that is not a ``ForeignKey`` (``GenericRelation``,
    multi-column relations), not a custom field whose ``db_type`` is None
    (the schema editor adds nothing for it). A field whose type cannot be
    computed offline is taken to have one.
    """
    from django.db.models import ForeignKey, ForeignObject

    if getattr(field, "many_to_many", False):
        return False
    if isinstance(field, ForeignObject):
        return isinstance(field, ForeignKey)
    if getattr(field, "remote_field", None) is not None:
        return True
    try:
        return field.db_type(_connection(15)) is not None
    except Exception:
        return True


def auto_created_m2m_table(field: Any) -> str | None:
    """The ``db_table`` a many-to-many field gives the table Django creates for it.

    None for a field with a ``through`` model (the table is that model's), and
    for many-to-many-like fields without the attribute (django-taggit's
    ``TaggableManager``).
    """
    if not getattr(field, "many_to_many", False):
        return None
    if getattr(getattr(field, "remote_field", None), "through", None):
        return None
    table = getattr(field, "db_table", None)
    return str(table) if table else None


def is_auto_field(field: Any) -> bool:
    return any(cls.__name__ in AUTO_FIELDS for cls in type(field).__mro__)


def is_stored_generated(field: Any) -> bool:
    return type(field).__name__ == "GeneratedField" and bool(getattr(field, "db_persist", False))


def insert_may_omit(field: Any) -> bool:
    """Can an INSERT that leaves this field's column out succeed?

    Yes when the column is nullable, has a database default that is not NULL
    (a Python ``default=`` does not count: Django never writes it into the
    database), is a generated column (PostgreSQL computes it; an INSERT may not
    even name it), or is an auto field (its sequence or identity fills it). The
    phase rules ask this of a column the new code no longer knows: when the
    answer is no, every INSERT of the new release fails until it is dropped.
    """
    if getattr(field, "null", False):
        return True
    if type(field).__name__ == "GeneratedField" or is_auto_field(field):
        return True
    value = db_default(field)
    return value is not None and getattr(value, "value", object()) is not None


def db_default(field: Any) -> Any | None:
    """The field's ``db_default`` expression, or None when it has none."""
    from django.db.models.fields import NOT_PROVIDED

    value = getattr(field, "db_default", NOT_PROVIDED)
    return None if value is NOT_PROVIDED else value


def default_volatility(expr: Any) -> str:
    """'volatile', 'unknown' or 'stable' for a ``db_default`` value or expression.

    Plain values are constants. ``Func`` subclasses are judged by their SQL
    function name, or, without one (``RandomUUID``: ``GEN_RANDOM_UUID()``), by
    parsing their template; ``RawSQL`` by parsing its SQL. Django's ``Random``
    (and the UUID4/UUID7 functions of newer releases) are volatile, ``Now`` is
    not, nor are Django's other functions. Callers treat 'unknown' as volatile:
    only what is known stable is.
    """
    from django.db.models.expressions import RawSQL, Value

    if not hasattr(expr, "resolve_expression") or isinstance(expr, Value):
        return "stable"
    verdict = "stable"
    for node in _walk_expression(expr):
        if isinstance(node, RawSQL):
            verdict = _worst(verdict, _sql_volatility(node.sql))
            continue
        kind = type(node).__name__.lower()
        function = _func_attr(node, "function").lower()
        if kind in {"random", "uuid4", "uuid7"} or function in VOLATILE_FUNCTIONS:
            return "volatile"
        if not function and _is_func(node):
            verdict = _worst(verdict, _template_volatility(node))
        elif (
            function
            and kind not in _KNOWN_STABLE
            and function not in _STABLE_SQL
            and not _djangos_own(node)
        ):
            verdict = _worst(verdict, "unknown")
    return verdict


def _djangos_own(node: Any) -> bool:
    """One of Django's database functions (``Pi``, ``Extract``, ``MD5``, ``Trunc``...):
    each calls a PostgreSQL function that is immutable or stable. The volatile ones
    (``Random``; ``RandomUUID``, judged by its template) are caught before this."""
    module = type(node).__module__
    return module.startswith(("django.db.models.functions.", "django.contrib.postgres."))


_KNOWN_STABLE = frozenset({"now", "lower", "upper", "coalesce", "concat", "length", "cast"})
_STABLE_SQL = frozenset({"lower", "upper", "coalesce", "concat", "length", "abs", "round"})


def _is_func(node: Any) -> bool:
    from django.db.models import Func

    return isinstance(node, Func)


def _func_attr(node: Any, name: str) -> str:
    """A ``Func``'s ``function`` or ``template``: ``Func(function="gen_random_uuid")``
    keeps it in ``extra`` (what ``as_sql`` reads first), not in the attribute."""
    extra = getattr(node, "extra", None)
    value = extra.get(name) if isinstance(extra, dict) else None
    return str(value or getattr(node, name, "") or "")


def _template_volatility(node: Any) -> str:
    """A ``Func`` without a function name: its template, with empty arguments, parsed."""
    template = _func_attr(node, "template")
    try:
        sql_text = template % {"function": "", "expressions": "NULL", "field": "NULL"}
    except (KeyError, TypeError, ValueError):
        return "unknown"
    return _sql_volatility(sql_text) if sql_text.strip() else "unknown"


def _walk_expression(expr: Any) -> list[Any]:
    out, todo = [], [expr]
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(c for c in node.get_source_expressions() if c is not None)
    return out


def _sql_volatility(sql_text: str) -> str:
    try:
        stmt: Any = parse_sql(f"SELECT {sql_text}")[0].stmt
    except ParseError:
        return "unknown"
    return volatility(stmt.targetList)


def _worst(a: str, b: str) -> str:
    order = ("stable", "unknown", "volatile")
    return a if order.index(a) >= order.index(b) else b


@dataclass
class DeclaredColumn:
    """A column type written in SQL: ``CREATE TABLE``, ``ADD COLUMN`` or ``ALTER COLUMN TYPE``.

    ``type`` is the pglast ``TypeName`` (the remedy planner retypes it in place).
    """

    table: str
    column: str
    type: Any
    action: str  # "CREATE TABLE", "ADD COLUMN" or "ALTER COLUMN TYPE"

    @property
    def base(self) -> str:
        """``json``, ``timestamp``, ``varchar``, ``bpchar`` (char), ``int4``... (no schema)."""
        parts = names(self.type.names)
        return parts[-1].lower() if parts else "?"

    @property
    def length(self) -> str | None:
        """The ``n`` of ``varchar(n)`` / ``char(n)``, as written."""
        for mod in self.type.typmods or ():
            val = getattr(getattr(mod, "val", None), "ival", None)
            if val is not None:
                return str(val)
        return None

    @property
    def where(self) -> str:
        return f"{self.table}.{self.column}"


def declared_columns(node: Any) -> list[DeclaredColumn]:
    """Every column type a CREATE TABLE or ALTER TABLE statement declares."""
    from schemaops.statements import AT, alter_commands, relname

    out = []
    if isinstance(node, ast.CreateStmt):
        table = relname(node.relation) or "?"
        for elt in node.tableElts or ():
            if isinstance(elt, ast.ColumnDef) and elt.typeName is not None:
                out.append(DeclaredColumn(table, str(elt.colname), elt.typeName, "CREATE TABLE"))
        return out
    for altered, cmd in alter_commands(node):
        coldef = cmd.def_
        if not isinstance(coldef, ast.ColumnDef) or coldef.typeName is None:
            continue
        if cmd.subtype == AT.AT_AddColumn:
            out.append(
                DeclaredColumn(altered or "?", str(coldef.colname), coldef.typeName, "ADD COLUMN")
            )
        elif cmd.subtype == AT.AT_AlterColumnType:
            out.append(
                DeclaredColumn(altered or "?", str(cmd.name), coldef.typeName, "ALTER COLUMN TYPE")
            )
    return out
