"""Catalog snapshots several checks share, each read with ONE set-based query per run.

Sizes come from ``pg_class.relpages`` (as of the last VACUUM, ANALYZE or
CREATE INDEX) rather than ``pg_relation_size()``: the latter opens and locks
every relation, which on 10,000 indexes fills the lock table and waits behind
any running DDL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Generic, TypeVar

from schemaops.audit._base import AuditContext, qualified

# Objects in the audited schemas (``--schema``/``--exclude-schema``; never the system's).
# The runner resolves them once; :meth:`AuditContext.rows` passes their oids.
USER_SCHEMAS = "n.oid = ANY(%(schemas)s::oid[])"
# Objects owned by extensions are not the user's.
NOT_EXTENSION = """
    NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                AND d.objid = {rel}.oid AND d.deptype = 'e')
"""


def table_size(rel: str, what: str) -> str:
    """SQL for a table's ``bytes`` or ``rows``: a partitioned table counts its partitions.

    A partitioned table has no storage of its own (``relpages`` is 0 or -1 and
    ``reltuples`` -1 until the parent is analyzed).
    """
    one = {
        "bytes": "greatest({r}.relpages, 0)::bigint * current_setting('block_size')::int",
        "rows": "greatest({r}.reltuples, 0)::bigint",
    }[what]
    return (
        f"(CASE WHEN {rel}.relkind = 'p' THEN (SELECT coalesce(sum({one.format(r='pc')}), 0)"
        f" FROM pg_partition_tree({rel}.oid) pt JOIN pg_class pc ON pc.oid = pt.relid)"
        f"::bigint ELSE {one.format(r=rel)} END)"
    )


# One row per index, as plain columns: the arrays travel as text (psycopg2 parses int2[]
# and oid[] four times slower than the checks need them), names come back quoted by the
# server (quote_ident, the quoting pg_get_indexdef uses), and the small lookups (schema,
# access method, constraint, parent index, extension ownership) are joined in Python.
INDEXES = """
SELECT i.indexrelid, i.indrelid, t.relnamespace, quote_ident(t.relname), quote_ident(ic.relname),
       ic.relam, i.indisunique, i.indisprimary, i.indisvalid, i.indnkeyatts, i.indnatts,
       i.indkey::text, i.indclass::text, i.indcollation::text, i.indoption::text,
       pg_get_expr(i.indexprs, i.indrelid), pg_get_expr(i.indpred, i.indrelid),
       greatest(ic.relpages, 0)::bigint, greatest(t.relpages, 0)::bigint,
       greatest(t.reltuples, 0)::bigint, pg_stat_get_numscans(i.indexrelid),
       ic.relkind = 'I', ic.reloptions IS NULL, {nulls_not_distinct},
       t.relnamespace = ANY(%(path)s::oid[]) AND pg_table_is_visible(t.oid)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE t.relkind IN ('r', 'p', 'm') AND t.relnamespace = ANY(%(schemas)s::oid[])
"""
LOOKUPS = {
    "am": "SELECT oid, amname FROM pg_am",
    "opclass": "SELECT oid, opcname FROM pg_opclass",
    "constraint": (
        "SELECT conindid, conname FROM pg_constraint WHERE contype IN ('p', 'u', 'x')"
        " AND conindid <> 0"
    ),
    "parent": (
        "SELECT h.inhrelid, h.inhparent FROM pg_inherits h"
        " JOIN pg_class c ON c.oid = h.inhrelid AND c.relkind IN ('i', 'I')"
    ),
    "extension": (
        "SELECT objid, true FROM pg_depend WHERE classid = 'pg_class'::regclass AND deptype = 'e'"
    ),
    "path": "SELECT oid, true FROM pg_namespace WHERE nspname = ANY(current_schemas(false))",
    "quoted_schema": "SELECT oid, quote_ident(nspname) FROM pg_namespace",
}
# Names, types and collations of the columns of indexed tables, read when a check
# first needs an index's column names.
INDEXED_COLUMNS = """
SELECT a.attrelid, a.attnum, quote_ident(a.attname), a.atttypid, a.attcollation
FROM pg_attribute a
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND a.attrelid IN (SELECT i.indrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                     WHERE t.relnamespace = ANY(%(schemas)s::oid[]))
"""
PARTIAL_COLUMNS_MAX = 1000  # tables; more are read with the whole map
TABLE_COLUMNS = """
SELECT a.attrelid, a.attnum, quote_ident(a.attname), a.atttypid, a.attcollation
FROM pg_attribute a
WHERE a.attrelid = ANY(%(tables)s::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
"""
DEFINITIONS = """
SELECT indexrelid AS oid, pg_get_indexdef(indexrelid) AS definition
FROM pg_index WHERE indexrelid = ANY(%(oids)s::oid[])
"""


# Catalog reads of the checks on the snapshot connection that need nothing but the
# schemas: the runner reads them ahead on the other connection, while this one reads
# the index list, so neither the server's time nor the rows' parsing waits in line.
SNAPSHOT_USERS = frozenset({"AU101", "AU104", "AU105", "AU106", "AU107", "AU108"})
COLUMN_USERS = frozenset({"AU101", "AU105", "AU106", "AU107"})  # index column names


def read_ahead(codes: set[str]) -> list[str]:
    """The queries the runner may read ahead for these checks (each read as it is)."""
    from schemaops.audit.indexes import FOREIGN_KEYS

    queries = []
    if codes & COLUMN_USERS:
        queries.append(INDEXED_COLUMNS)
    if codes & {"AU101", "AU104"}:
        queries.append(FOREIGN_KEYS)
    if codes & SNAPSHOT_USERS:
        queries += [q for name, q in LOOKUPS.items() if name not in ("opclass",)]
    return queries


T = TypeVar("T")
# (table oid, attnum) -> (quoted name, type oid, collation oid)
ColumnMap = dict[tuple[int, int], tuple[str, int, int]]


class cached_property(Generic[T]):  # named like the functools one it replaces
    """``functools.cached_property`` without its lock.

    On Python 3.11 the functools one takes a lock shared by every instance on
    each first read: a fleet's 100,000 indexes paid more for the lock than for
    the values. The snapshot is read by one thread (the runner's snapshot lane),
    so a value computed twice by a race would only be computed twice.
    """

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        value = obj.__dict__[self.name] = self.func(obj)
        return value


def unquote(name: str) -> str:
    """The name that ``quote_ident`` quoted."""
    return name[1:-1].replace('""', '"') if name.startswith('"') else name


def _numbers(text: str) -> list[int]:
    return [int(x) for x in text.split()]


@dataclass(eq=False)
class Index:
    """One index as the checks see it; ``columns`` holds None for an expression.

    Shared by every check of a run: checks read it and never change it (only
    :func:`with_definition` fills in ``definition``, a cache). The arrays are
    kept as the server prints them and parsed on first use.
    """

    index_oid: int
    table_oid: int
    schema: str
    table: str
    index: str
    am: str
    is_unique: bool
    is_primary: bool
    is_valid: bool
    nkey: int
    natts: int  # key columns plus INCLUDE columns
    keys_text: str  # int2vector, oidvector... as the server prints them
    opclasses_text: str
    collations_text: str
    options_text: str
    exprs: str | None
    predicate: str | None
    bytes: int
    table_bytes: int
    table_rows: int
    scans: int
    constraint_name: str | None
    visible: bool
    partitioned: bool = False  # the index of a partitioned table (built on every partition)
    parent_index: int | None = None  # attached to this partitioned index: not droppable alone
    plain_storage: bool = True  # no reloptions: pg_get_indexdef prints no WITH (...)
    nulls_not_distinct: bool = False
    snapshot: Snapshot | None = field(default=None, compare=False, repr=False)
    definition: str = ""  # filled by with_definition() for the indexes a check reports
    composed: bool = False  # the definition was composed from its shape (plain, canonical)

    @cached_property
    def keys(self) -> list[int]:
        return _numbers(self.keys_text)

    @cached_property
    def opclasses(self) -> list[int]:
        return _numbers(self.opclasses_text)

    @cached_property
    def collations(self) -> list[int]:
        return _numbers(self.collations_text)

    @cached_property
    def options(self) -> list[int]:
        return _numbers(self.options_text)

    @cached_property
    def columns(self) -> list[str | None]:
        """The indexed columns' names (key columns, then INCLUDE columns)."""
        if self.snapshot is None:
            return []
        names = self.snapshot.columns()
        found = (names.get((self.table_oid, k)) if k else None for k in self.keys)
        return [unquote(c[0]) if c else None for c in found]

    @cached_property
    def opclass_names(self) -> tuple[str, ...]:
        names = self.snapshot.opclass_names if self.snapshot else {}
        return tuple(names.get(int(o), "") for o in self.opclasses_text.split())

    @cached_property
    def column_signature(self) -> tuple[tuple[str, str, str, str], ...]:
        """Per key column: attnum, operator class, collation, sort options (as text).

        ``indclass``, ``indcollation`` and ``indoption`` hold the key columns only
        (``indkey`` the INCLUDE columns too): the zip stops at the last key column.
        """
        return tuple(
            zip(
                self.keys_text.split(),
                self.opclasses_text.split(),
                self.collations_text.split(),
                self.options_text.split(),
                strict=False,
            )
        )

    @property
    def obj(self) -> str:
        return qualified(self.schema, self.index)

    @property
    def table_obj(self) -> str:
        return qualified(self.schema, self.table)

    @property
    def key_columns(self) -> list[str | None]:
        return self.columns[: self.nkey]

    @property
    def has_include(self) -> bool:
        return self.natts > self.nkey

    @property
    def backs_constraint(self) -> bool:
        return self.constraint_name is not None or self.is_primary

    @property
    def attached(self) -> bool:
        """A partition's copy of a partitioned index: it goes only with its parent."""
        return self.parent_index is not None

    @property
    def is_like_index(self) -> bool:
        """Django's ``<name>_like`` index: a pattern_ops btree for LIKE 'x%'."""
        if self.snapshot is not None:  # by oid: no names built for the 99% that are not
            pattern = self.snapshot.pattern_opclasses
            return any(o in pattern for o in self.opclasses_text.split())
        return any(op.endswith("_pattern_ops") for op in self.opclass_names)


class Snapshot:
    """The indexes of the audited schemas, read once per run and shared by every check."""

    def __init__(self, ctx: AuditContext) -> None:
        self.ctx = ctx
        self._quoted: dict[int, tuple[str, str]] = {}  # only names that needed quotes
        self._quoted_schemas: dict[str, str] = {}
        self.indexes = self._load()
        self._columns: dict[tuple[int, int], tuple[str, int, int]] = {}
        self._complete = False  # every indexed table's columns are in _columns
        self._tables: set[int] = set()  # tables whose columns are in _columns

    def columns(self) -> dict[tuple[int, int], tuple[str, int, int]]:
        """(table oid, attnum) -> (quoted name, type oid, collation oid) of every indexed
        table, read on first use."""
        if not self._complete:
            rows = self.ctx.tuples(INDEXED_COLUMNS)
            self._columns.update(((r[0], r[1]), (r[2], r[3], r[4])) for r in rows)
            self._tables.update(r[0] for r in rows)
            self._complete = True
        return self._columns

    def columns_of(self, tables: set[int]) -> dict[tuple[int, int], tuple[str, int, int]]:
        """The same map, sure to hold these tables (indexed or not); read only for them
        unless they are many."""
        missing = tables - self._tables
        if len(missing) > PARTIAL_COLUMNS_MAX and not self._complete:
            self.columns()  # most tables anyway: one scan, shared with later checks
            missing = tables - self._tables
        if missing:
            rows = self.ctx.tuples(TABLE_COLUMNS, {"tables": sorted(missing)})
            self._columns.update(((r[0], r[1]), (r[2], r[3], r[4])) for r in rows)
            self._tables |= missing
        return self._columns

    @cached_property
    def opclass_names(self) -> dict[int, str]:
        return dict(self.ctx.tuples(LOOKUPS["opclass"]))

    @cached_property
    def pattern_opclasses(self) -> set[str]:
        """The oids (as text) of the ``*_pattern_ops`` operator classes."""
        return {
            str(oid) for oid, name in self.opclass_names.items() if name.endswith("_pattern_ops")
        }

    def quoted(self, index: Index) -> tuple[str, str, str]:
        """Schema, table and index name as the server quotes them."""
        table, name = self._quoted.get(index.index_oid, (index.table, index.index))
        return self._quoted_schemas[index.schema], table, name

    def _load(self) -> list[Index]:
        """One Index per row; the loop binds everything it reads per row to locals.

        It runs once per index (100,000 on a fleet): the per-row work is the tuple's
        fields put in place, four dict lookups, and a quoted-name pair kept only for
        the rare index or table whose name needed quotes.
        """
        ctx = self.ctx
        look = {
            name: dict(ctx.tuples(query)) for name, query in LOOKUPS.items() if name != "opclass"
        }
        distinct = "i.indnullsnotdistinct" if ctx.server_version >= 150000 else "false"
        query = INDEXES.replace("{nulls_not_distinct}", distinct)
        rows = ctx.tuples(query, {"path": list(look["path"])})
        (block,) = ctx.tuples("SELECT current_setting('block_size')::int")[0]
        schemas, owned, quoted = ctx.schemas, look["extension"], look["quoted_schema"]
        self._quoted_schemas = {name: quoted[oid] for oid, name in schemas.items()}
        am, constraint, parent = look["am"].get, look["constraint"].get, look["parent"].get
        new, keep_quoted = Index, self._quoted
        found: list[Index] = []
        append = found.append
        for r in rows:
            if r[1] in owned:
                continue
            table, name = r[3], r[4]
            if table[0] == '"' or name[0] == '"':  # most names need no quotes
                keep_quoted[r[0]] = (table, name)
                table, name = unquote(table), unquote(name)
            append(new(
                r[0], r[1], schemas[r[2]], table, name, am(r[5], ""),
                r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15], r[16],
                r[17] * block, r[18] * block, r[19], r[20] or 0,
                constraint(r[0]), r[24], r[21], parent(r[0]), r[22], r[23], self,
            ))  # fmt: skip
        found.sort(key=attrgetter("schema", "table", "index"))
        return _roll_up_partitions(found)


def snapshot(ctx: AuditContext) -> Snapshot:
    result: Snapshot = ctx.cached("snapshot", lambda: Snapshot(ctx))
    return result


def indexes(ctx: AuditContext) -> list[Index]:
    """Every index on the audited schemas' tables, read once per run."""
    return snapshot(ctx).indexes


def _roll_up_partitions(found: list[Index]) -> list[Index]:
    """A partitioned index has no storage: give it the size and scans of its partitions'.

    Only partitioned indexes are looked up (the parents), and they are updated in
    place: the snapshot is still being built, nothing shares them yet.
    """
    parents = {i.index_oid: i for i in found if i.partitioned}
    if not parents:
        return found
    totals: dict[int, list[int]] = {}
    for index in found:
        if index.partitioned or index.parent_index is None:
            continue
        parent: int | None = index.parent_index
        seen: set[int] = set()
        while parent is not None and parent in parents and parent not in seen:
            seen.add(parent)  # every ancestor, for sub-partitions
            total = totals.setdefault(parent, [0, 0])
            total[0] += index.bytes
            total[1] += index.scans
            parent = parents[parent].parent_index
    for oid, (size, scans) in totals.items():
        parents[oid].bytes, parents[oid].scans = size, scans
    return found


def preload_definitions(ctx: AuditContext, found: list[Index]) -> None:
    """The ``pg_get_indexdef`` text of many indexes, read in one query or composed.

    ``pg_get_indexdef`` costs 40-80 µs an index (seconds for the thousands of
    findings a fleet of tenant schemas yields). A plain btree index (columns
    only, no expression, predicate or storage options) prints as a function of
    its shape (unique, partitioned, each key column's type, operator class,
    collation and sort options, the INCLUDE count) and its quoted names; one
    index per shape is read from the server, and the others are composed from
    it when the composition reproduces that one exactly.
    """
    known: dict[int, str] = ctx.cached("definitions", dict)
    missing = [i for i in {i.index_oid: i for i in found}.values() if i.index_oid not in known]
    if not missing:
        return
    columns: ColumnMap = {}
    if missing[0].snapshot is not None:
        columns = missing[0].snapshot.columns_of({i.table_oid for i in missing})
    shapes: dict[Any, list[Index]] = {}
    others = []
    for index in missing:
        shape = _shape(index, columns)
        if shape is None:
            others.append(index)
        else:
            shapes.setdefault(shape, []).append(index)
    samples = [group[0] for group in shapes.values()]
    _read_definitions(ctx, [i.index_oid for i in others + samples], known)
    composed: set[int] = ctx.cached("composed_definitions", set)
    for group in shapes.values():
        sample = group[0]
        if _compose(sample, columns) == known.get(sample.index_oid):
            composed.add(sample.index_oid)
            for index in group[1:]:
                known[index.index_oid] = _compose(index, columns)
                composed.add(index.index_oid)
        else:
            _read_definitions(ctx, [i.index_oid for i in group[1:]], known)


def _read_definitions(ctx: AuditContext, oids: list[int], known: dict[int, str]) -> None:
    if oids:
        for oid, definition in ctx.tuples(DEFINITIONS, {"oids": sorted(oids)}):
            known[oid] = definition or ""


def _shape(index: Index, columns: ColumnMap) -> tuple[Any, ...] | None:
    """What decides how pg_get_indexdef prints a plain btree index, or None if not plain.

    ``columns`` is the snapshot's column map, already holding the index's table
    (:func:`preload_definitions` reads every table's columns first, in one query).
    """
    if index.am != "btree" or index.exprs or index.predicate or not index.plain_storage:
        return None
    if index.snapshot is None:
        return None
    table = index.table_oid
    keys = []
    parts = zip(
        index.keys_text.split(),
        index.opclasses_text.split(),
        index.collations_text.split(),
        index.options_text.split(),
        strict=False,
    )
    for attnum, opclass, collation, option in parts:
        column = columns.get((table, int(attnum)))
        if column is None:
            return None
        keys.append((column[1], opclass, collation in ("0", str(column[2])), option))
    unique, partitioned, nnd = index.is_unique, index.partitioned, index.nulls_not_distinct
    return (unique, partitioned, nnd, tuple(keys), index.natts - index.nkey)


def _compose(index: Index, columns: ColumnMap) -> str:
    """``CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING btree (cols) [INCLUDE (...)]``."""
    assert index.snapshot is not None
    oid = index.table_oid
    names = [columns[(oid, int(k))][0] for k in index.keys_text.split()]
    schema, table, name = index.snapshot.quoted(index)
    text = (
        f"CREATE {'UNIQUE ' if index.is_unique else ''}INDEX {name} ON "
        f"{'ONLY ' if index.partitioned else ''}{schema}.{table} USING btree "
        f"({', '.join(names[: index.nkey])})"
    )
    if len(names) > index.nkey:
        text += f" INCLUDE ({', '.join(names[index.nkey :])})"
    if index.nulls_not_distinct:
        text += " NULLS NOT DISTINCT"
    return text


def with_definition(ctx: AuditContext, index: Index) -> Index:
    """The index with its ``pg_get_indexdef`` text, read only for indexes a check reports."""
    if index.definition:
        return index
    known: dict[int, str] = ctx.cached("definitions", dict)
    if index.index_oid not in known:
        preload_definitions(ctx, [index])
    index.definition = known[index.index_oid]
    index.composed = index.index_oid in ctx.cached("composed_definitions", set)
    return index


def indexes_by_table(ctx: AuditContext) -> dict[int, list[Index]]:
    def group() -> dict[int, list[Index]]:
        grouped: dict[int, list[Index]] = {}
        for index in indexes(ctx):
            grouped.setdefault(index.table_oid, []).append(index)
        return grouped

    result: dict[int, list[Index]] = ctx.cached("indexes_by_table", group)
    return result


STATS_RESET = """
SELECT stats_reset, extract(epoch FROM now() - stats_reset) / 86400 AS days
FROM pg_stat_database WHERE datname = current_database()
"""


def stats_age(ctx: AuditContext) -> dict[str, Any]:
    """When the statistics counters were last reset, and how many days they cover."""
    row = ctx.cached("stats_reset", lambda: ctx.rows(STATS_RESET)[0])
    return {"stats_reset": row["stats_reset"], "days": row["days"]}


UNREADABLE_TABLES = f"""
SELECT n.nspname AS schema, c.relname AS "table", current_user AS role
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm') AND {USER_SCHEMAS} AND {NOT_EXTENSION.format(rel="c")}
  AND NOT has_table_privilege(c.oid, 'SELECT')
ORDER BY 1, 2
"""


READS_EVERYTHING = """
SELECT rolsuper OR pg_has_role(current_user, 'pg_read_all_data', 'MEMBER')
FROM pg_roles WHERE rolname = current_user
"""


def note_unreadable_tables(ctx: AuditContext) -> None:
    """pg_stats hides the statistics of tables the role cannot read: say so, once per check."""
    rows = ctx.cached("unreadable_tables", lambda: _unreadable_tables(ctx))
    if rows:
        names = [qualified(r["schema"], r["table"]) for r in rows]
        ctx.note(
            f"role {rows[0]['role']} cannot SELECT {len(names)} table(s), whose statistics "
            f"pg_stats hides; not checked: {', '.join(names[:5])}"
            + (", ..." if len(names) > 5 else "")
            + " (GRANT SELECT, or audit as the owner)"
        )


def _unreadable_tables(ctx: AuditContext) -> list[dict[str, Any]]:
    """A superuser or a member of pg_read_all_data reads every table: no per-table test."""
    if ctx.server_version >= 140000 and ctx.tuples(READS_EVERYTHING)[0][0]:
        return []
    return ctx.rows(UNREADABLE_TABLES)
