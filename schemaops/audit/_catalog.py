"""Catalog snapshots several checks share, each read with ONE set-based query per run.

Sizes come from ``pg_class.relpages`` (as of the last VACUUM, ANALYZE or
CREATE INDEX) rather than ``pg_relation_size()``: the latter opens and locks
every relation, which on 10,000 indexes fills the lock table and waits behind
any running DDL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from schemaops.audit._base import AuditContext, qualified

# Objects in these schemas, and objects owned by extensions, are not the user's.
USER_SCHEMAS = """
    n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
"""
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


INDEXES = f"""
SELECT i.indexrelid AS index_oid, i.indrelid AS table_oid, n.nspname AS schema,
       t.relname AS "table", ic.relname AS "index", am.amname AS am,
       i.indisunique AS is_unique, i.indisprimary AS is_primary,
       i.indisvalid AS is_valid, i.indnkeyatts AS nkey,
       i.indkey::int2[] AS keys, i.indclass::oid[] AS opclasses,
       i.indcollation::oid[] AS collations, i.indoption::int2[] AS options,
       pg_get_expr(i.indexprs, i.indrelid) AS exprs,
       pg_get_expr(i.indpred, i.indrelid) AS predicate,
       greatest(ic.relpages, 0)::bigint * current_setting('block_size')::int AS bytes,
       greatest(t.relpages, 0)::bigint * current_setting('block_size')::int AS table_bytes,
       greatest(t.reltuples, 0)::bigint AS table_rows,
       pg_stat_get_numscans(i.indexrelid) AS scans,
       con.conname AS constraint_name,
       pg_table_is_visible(t.oid) AS visible,
       ic.relkind = 'I' AS partitioned, inh.inhparent AS parent_index
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
LEFT JOIN pg_inherits inh ON inh.inhrelid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.contype IN ('p', 'u', 'x')
WHERE t.relkind IN ('r', 'p', 'm') AND {USER_SCHEMAS} AND {NOT_EXTENSION.format(rel="t")}
ORDER BY n.nspname, t.relname, ic.relname
"""
# Names of the indexed columns and operator classes, joined in Python: per-row
# subqueries and the pg_stat_all_indexes view cost seconds on 10,000 indexes.
INDEXED_COLUMNS = """
SELECT a.attrelid, a.attnum, a.attname FROM pg_attribute a
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND a.attrelid IN (SELECT DISTINCT indrelid FROM pg_index)
"""
OPCLASSES = "SELECT oid, opcname FROM pg_opclass"
DEFINITIONS = """
SELECT indexrelid AS oid, pg_get_indexdef(indexrelid) AS definition
FROM pg_index WHERE indexrelid = ANY(%(oids)s::oid[])
"""


@dataclass(frozen=True)
class Index:
    """One index as the checks see it; ``columns`` holds None for an expression."""

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
    keys: list[int]
    opclasses: list[int]
    collations: list[int]
    options: list[int]
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
    columns: list[str | None] = field(default_factory=list)
    opclass_names: list[str] = field(default_factory=list)
    definition: str = ""  # filled by with_definition() for the indexes a check reports

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
        return len(self.columns) > self.nkey

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
        return any(op.endswith("_pattern_ops") for op in self.opclass_names)


def indexes(ctx: AuditContext) -> list[Index]:
    """Every index on the user's tables, read once per run."""
    return list(ctx.cached("indexes", lambda: _load(ctx)))


def _load(ctx: AuditContext) -> list[Index]:
    names = {(r["attrelid"], r["attnum"]): r["attname"] for r in ctx.rows(INDEXED_COLUMNS)}
    opclasses = {r["oid"]: r["opcname"] for r in ctx.rows(OPCLASSES)}
    found = []
    for row in ctx.rows(INDEXES):
        columns = [names.get((row["table_oid"], k)) for k in row["keys"]]
        ops = [opclasses.get(o, "") for o in row["opclasses"]]
        found.append(Index(**row, columns=columns, opclass_names=ops))
    return _roll_up_partitions(found)


def _roll_up_partitions(found: list[Index]) -> list[Index]:
    """A partitioned index has no storage: give it the size and scans of its partitions'."""
    by_oid = {i.index_oid: i for i in found}
    totals: dict[int, list[int]] = {}
    for index in found:
        if index.partitioned:
            continue
        parent, seen = index.parent_index, set()
        while parent in by_oid and parent not in seen:  # every ancestor, for sub-partitions
            seen.add(parent)
            total = totals.setdefault(parent, [0, 0])
            total[0] += index.bytes
            total[1] += index.scans
            parent = by_oid[parent].parent_index
    return [
        replace(i, bytes=totals[i.index_oid][0], scans=totals[i.index_oid][1])
        if i.index_oid in totals
        else i
        for i in found
    ]


def preload_definitions(ctx: AuditContext, found: list[Index]) -> None:
    """Read the ``pg_get_indexdef`` text of many indexes in one query."""
    known: dict[int, str] = ctx.cached("definitions", dict)
    missing = sorted({i.index_oid for i in found} - set(known))
    if missing:
        for row in ctx.rows(DEFINITIONS, {"oids": missing}):
            known[row["oid"]] = row["definition"] or ""


def with_definition(ctx: AuditContext, index: Index) -> Index:
    """The index with its ``pg_get_indexdef`` text, read only for indexes a check reports."""
    if index.definition:
        return index
    known: dict[int, str] = ctx.cached("definitions", dict)
    if index.index_oid not in known:
        preload_definitions(ctx, [index])
    return replace(index, definition=known[index.index_oid])


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


def note_unreadable_tables(ctx: AuditContext) -> None:
    """pg_stats hides the statistics of tables the role cannot read: say so, once per check."""
    rows = ctx.cached("unreadable_tables", lambda: ctx.rows(UNREADABLE_TABLES))
    if rows:
        names = [qualified(r["schema"], r["table"]) for r in rows]
        ctx.note(
            f"role {rows[0]['role']} cannot SELECT {len(names)} table(s), whose statistics "
            f"pg_stats hides; not checked: {', '.join(names[:5])}"
            + (", ..." if len(names) > 5 else "")
            + " (GRANT SELECT, or audit as the owner)"
        )
