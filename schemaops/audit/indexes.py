"""Index checks: missing, unused, duplicate, redundant and invalid indexes (AU101-AU108).

AU103 (index suggestions for slow queries) lives in :mod:`schemaops.audit.suggest`,
the bloat estimates (AU109, AU110) in :mod:`schemaops.audit.bloat`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from schemaops.audit._base import AuditContext, Hit, check, mb, qualified
from schemaops.audit._catalog import (
    NOT_EXTENSION,
    USER_SCHEMAS,
    Index,
    indexes,
    indexes_by_table,
    preload_definitions,
    snapshot,
    stats_age,
    table_size,
    unquote,
    with_definition,
)
from schemaops.audit._django import (
    add_index_fix,
    describe,
    drop_index_fix,
    library_severity,
    models_schema_audited,
)
from schemaops.findings import Severity
from schemaops.statements import ident

FK_WITHOUT_INDEX = f"""
WITH fks AS (
  SELECT c.oid, c.conname, c.conrelid, c.confrelid, t.relkind, c.conkey,
         ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(num, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num
               ORDER BY k.ord) AS columns
  FROM pg_constraint c
  JOIN pg_class t ON t.oid = c.conrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  WHERE c.oid = ANY(%(candidates)s::oid[]) AND {NOT_EXTENSION.format(rel="t")}
), targets AS (  -- the tables the key's checks scan: a partitioned table's leaf partitions
  SELECT f.oid, f.conrelid AS relid, f.conkey AS keys FROM fks f WHERE f.relkind <> 'p'
  UNION ALL  -- a partition may number the columns differently: match them by name
  SELECT f.oid, pt.relid,
         ARRAY(SELECT a.attnum FROM unnest(f.columns) c(name)
               JOIN pg_attribute a ON a.attrelid = pt.relid AND a.attname = c.name)
  FROM fks f CROSS JOIN LATERAL pg_partition_tree(f.conrelid) pt
  WHERE f.relkind = 'p' AND pt.isleaf
), uncovered AS (
  SELECT tg.oid, count(*) AS missing,
         json_agg(json_build_array(pn.nspname, pc.relname) ORDER BY pn.nspname, pc.relname)
           AS partitions
  FROM targets tg
  JOIN pg_class pc ON pc.oid = tg.relid
  JOIN pg_namespace pn ON pn.oid = pc.relnamespace
  WHERE NOT EXISTS (
    SELECT 1 FROM pg_index i
    WHERE i.indrelid = tg.relid AND i.indisvalid AND i.indpred IS NULL
      AND i.indnkeyatts >= cardinality(tg.keys)
      AND ARRAY(SELECT k FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(k, o)
                WHERE o <= cardinality(tg.keys)) @> tg.keys
      AND ARRAY(SELECT k FROM unnest(i.indkey::int2[]) WITH ORDINALITY u(k, o)
                WHERE o <= cardinality(tg.keys)) <@ tg.keys)
  GROUP BY tg.oid
)
SELECT f.conname, n.nspname AS schema, t.relname AS "table",
       pn.nspname AS ref_schema, p.relname AS ref_table, f.columns,
       {table_size("t", "rows")} AS rows, {table_size("t", "bytes")} AS bytes,
       pg_stat_get_tuples_updated(f.confrelid) + pg_stat_get_tuples_deleted(f.confrelid)
         AS ref_writes,
       pg_stat_get_numscans(f.conrelid) AS seq_scans, pg_table_is_visible(t.oid) AS visible,
       f.relkind = 'p' AS partitioned, u.missing, u.partitions,
       (SELECT count(*) FROM pg_partition_tree(t.oid) WHERE isleaf) AS leaves
FROM fks f
JOIN uncovered u ON u.oid = f.oid
JOIN pg_class t ON t.oid = f.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class p ON p.oid = f.confrelid
JOIN pg_namespace pn ON pn.oid = p.relnamespace
ORDER BY n.nspname, t.relname, f.conname
"""


@check("AU101", "fk-without-index", Severity.WARNING)
def fk_without_index(ctx: AuditContext) -> Iterator[Hit]:
    """A foreign key has no index whose leading columns cover it.

    ## What it does
    Finds foreign key constraints where no valid, non-partial index starts with
    the key's columns (in any order), like postgres-checkup H003 and
    ruby-pg-extras ``missing_fk_indexes``. With the Django models it also checks
    relations PostgreSQL cannot see: ``ForeignKey(db_constraint=False)`` and
    ``GenericForeignKey`` (content type, object id) pairs. A key on a
    partitioned table is covered when every leaf partition has such an index
    (on the parent or on the partition itself); the finding names the
    partitions that lack one.

    ## Why is this bad?
    Every DELETE (and key UPDATE) on the referenced table scans the referencing
    table to enforce the key, and joins from the parent do too. Django adds an
    index to every ForeignKey unless ``db_index=False``.

    ## Fix
    Add the index concurrently: an ``AddIndexConcurrently`` migration in an
    ``atomic = False`` migration, plus the same ``models.Index`` in
    ``Meta.indexes`` so the model state agrees. On a partitioned table,
    ``CREATE INDEX CONCURRENTLY`` on each partition that lacks the index.
    """
    plain, partitioned = _uncovered_foreign_keys(ctx)
    rows = _plain_fk_rows(ctx, plain)
    rows += ctx.rows(FK_WITHOUT_INDEX, {"candidates": partitioned}) if partitioned else []
    for row in sorted(rows, key=lambda r: (r["schema"], r["table"], r["conname"])):
        yield _fk_hit(ctx, row)
    if ctx.models is not None and models_schema_audited(ctx):
        yield from _django_relations_without_index(ctx)


# Every foreign key of the audited schemas in one scan of pg_constraint, shared by
# AU101 and AU104; names, sizes and schemas come from the index snapshot.
FOREIGN_KEYS = """
SELECT c.oid, c.conrelid, c.confrelid, c.conname, array_to_string(c.conkey, ' '),
       c.conparentid <> 0, c.conrelid IN (SELECT partrelid FROM pg_partitioned_table)
FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = ANY(%(schemas)s::oid[])
"""


class ForeignKey(NamedTuple):
    oid: int
    table: int
    referenced: int
    name: str
    keys_text: str  # attnums as text, like Index.keys_text
    inherited: bool  # a partition's copy of its partitioned table's key
    partitioned: bool  # on a partitioned table


def foreign_keys(ctx: AuditContext) -> list[ForeignKey]:
    """The foreign keys of the audited schemas, read once per run."""
    found: list[ForeignKey] = ctx.cached(
        "foreign_keys", lambda: [ForeignKey(*r) for r in ctx.tuples(FOREIGN_KEYS)]
    )
    return found


def _uncovered_foreign_keys(ctx: AuditContext) -> tuple[list[ForeignKey], list[int]]:
    """Keys no index of the shared snapshot covers, and every key of a partitioned table.

    A partitioned table's keys are judged by :data:`FK_WITHOUT_INDEX`, which
    matches its leaf partitions' indexes by column name.
    """
    by_table = indexes_by_table(ctx)
    plain, partitioned = [], []
    for fk in foreign_keys(ctx):
        if fk.inherited:
            continue  # judged on the partitioned table
        wanted = set(fk.keys_text.split())
        n = len(wanted)
        if fk.partitioned:
            partitioned.append(fk.oid)
        elif not any(
            i.is_valid and i.predicate is None and i.nkey >= n
            and set(i.keys_text.split()[:n]) == wanted
            for i in by_table.get(fk.table, ())
        ):  # fmt: skip
            plain.append(fk)
    return plain, partitioned


# For keys whose tables the snapshot does not hold (a table without any index, a
# referenced table outside the audited schemas).
PLAIN_FKS = f"""
SELECT c.conname, n.nspname AS schema, t.relname AS "table", pn.nspname AS ref_schema,
       p.relname AS ref_table, c.conrelid AS table_oid, array_to_string(c.conkey, ' ') AS keys,
       greatest(t.reltuples, 0)::bigint AS rows,
       greatest(t.relpages, 0)::bigint * current_setting('block_size')::int AS bytes,
       pg_stat_get_tuples_updated(c.confrelid) + pg_stat_get_tuples_deleted(c.confrelid)
         AS ref_writes,
       pg_stat_get_numscans(c.conrelid) AS seq_scans,
       t.relnamespace = ANY(%(path)s::oid[]) AND pg_table_is_visible(t.oid) AS visible,
       false AS partitioned
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_class p ON p.oid = c.confrelid
JOIN pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.oid = ANY(%(candidates)s::oid[]) AND {NOT_EXTENSION.format(rel="t")}
"""
# The statistics a finding shows, for the tables of the keys found: no catalog read.
TABLE_WRITES_AND_SCANS = """
SELECT o, pg_stat_get_numscans(o),
       pg_stat_get_tuples_updated(o) + pg_stat_get_tuples_deleted(o)
FROM unnest(%(oids)s::oid[]) o
"""


def _plain_fk_rows(ctx: AuditContext, candidates: list[ForeignKey]) -> list[dict[str, Any]]:
    """The uncovered keys of ordinary tables: names, sizes and column names from the
    snapshot, only the statistics read for them."""
    if not candidates:
        return []
    by_table = indexes_by_table(ctx)
    known = [fk for fk in candidates if fk.table in by_table and fk.referenced in by_table]
    rows = []
    if known:
        oids = sorted({fk.table for fk in known} | {fk.referenced for fk in known})
        stats = {o: (scans, writes) for o, scans, writes in ctx.tuples(
            TABLE_WRITES_AND_SCANS, {"oids": oids}
        )}  # fmt: skip
        for fk in known:
            table, ref = by_table[fk.table][0], by_table[fk.referenced][0]
            rows.append({
                "conname": fk.name, "schema": table.schema, "table": table.table,
                "ref_schema": ref.schema, "ref_table": ref.table, "table_oid": fk.table,
                "keys": fk.keys_text, "rows": table.table_rows, "bytes": table.table_bytes,
                "ref_writes": stats[fk.referenced][1], "seq_scans": stats[fk.table][0],
                "visible": table.visible, "partitioned": False,
            })  # fmt: skip
    others = [
        fk.oid for fk in candidates if fk.table not in by_table or fk.referenced not in by_table
    ]
    if others:
        path = ctx.tuples(
            "SELECT oid FROM pg_namespace WHERE nspname = ANY(current_schemas(false))"
        )
        rows += ctx.rows(PLAIN_FKS, {"candidates": others, "path": [p[0] for p in path]})
    names = snapshot(ctx).columns_of({r["table_oid"] for r in rows})
    for row in rows:
        keys = [(row["table_oid"], int(k)) for k in row["keys"].split()]
        row["columns"] = [unquote(names[k][0]) for k in keys]
    return rows


def _fk_hit(ctx: AuditContext, row: dict[str, Any]) -> Hit:
    where = qualified(row["schema"], row["table"])
    own = ctx.models is not None and row["visible"]
    label = ctx.models.label(row["table"], row["columns"]) if own else where
    cols = ", ".join(row["columns"])
    ref = qualified(row["ref_schema"], row["ref_table"])
    evidence = {
        "columns": row["columns"],
        "table_rows": row["rows"],
        "table_bytes": row["bytes"],
        "referenced_table_updates_deletes": row["ref_writes"],
        "table_seq_scans": row["seq_scans"],
    }
    if row["partitioned"]:
        parts = [qualified(s, t) for s, t in row["partitions"]]
        gap = f"{row['missing']} of its {row['leaves']} partitions have no index: "
        gap += ", ".join(parts[:5]) + (", ..." if len(parts) > 5 else "")
        evidence["partitions_without_index"] = parts
        fix = _partition_index_fix(row)
    else:
        gap = "has no index"
        fix = add_index_fix(ctx.models, row["schema"], row["table"], row["columns"])
    return Hit(
        message=(
            f"foreign key {row['conname']} ({label}: {cols} -> {ref}) {gap}; deletes on "
            f"{ref} scan {where} ({row['rows']:,} rows, {mb(row['bytes'])})"
        ),
        obj=f"{where}.{row['conname']}",
        schema=row["schema"],
        evidence=evidence,
        fix=fix,
    )


def _partition_index_fix(row: dict[str, Any]) -> str:
    """CREATE INDEX CONCURRENTLY cannot run on a partitioned table: index each partition."""
    cols = ", ".join(ident(c) for c in row["columns"])
    lines = [
        f"-- {row['table']} is partitioned: build the index on each partition that lacks it",
        "-- (CONCURRENTLY is refused on the partitioned table itself)",
    ]
    lines += [
        f"CREATE INDEX CONCURRENTLY ON {ident(schema)}.{ident(table)} ({cols});"
        for schema, table in row["partitions"]
    ]
    parent = f"{ident(row['schema'])}.{ident(row['table'])}"
    lines += [
        f"-- so that new partitions get it too: CREATE INDEX <name> ON ONLY {parent} ({cols});",
        "-- then ALTER INDEX <name> ATTACH PARTITION <each partition's index>;",
    ]
    return "\n".join(lines)


def _covered(table_indexes: list[Index], columns: list[str]) -> bool:
    n = len(columns)
    return any(
        i.is_valid and not i.predicate and set(i.columns[:n]) == set(columns) for i in table_indexes
    )


def _django_relations_without_index(ctx: AuditContext) -> Iterator[Hit]:
    """ForeignKey(db_constraint=False) and GenericForeignKey pairs: no constraint to find."""
    assert ctx.models is not None
    by_name = {(i.table): i.table_oid for i in indexes(ctx) if i.visible}
    grouped = indexes_by_table(ctx)
    present = ctx.cached("visible_tables", lambda: _visible_tables(ctx))
    for table, model in ctx.models.by_table.items():
        if table not in present:
            continue  # a missing table is drift (AU301)
        table_indexes = grouped.get(by_name.get(table, -1), [])
        for label, columns in _relations(model):
            if not _covered(table_indexes, columns):
                yield Hit(
                    message=f"{label} ({', '.join(columns)}) has no index",
                    obj=f"{table}.{'_'.join(columns)}",
                    evidence={"columns": columns, "table_rows": present[table]},
                    fix=add_index_fix(ctx.models, "public", table, columns),
                )


def _relations(model: Any) -> Iterator[tuple[str, list[str]]]:
    name = f"{model._meta.app_label}.{model.__name__}"
    for f in model._meta.local_concrete_fields:
        if f.many_to_one and not getattr(f, "db_constraint", True):
            yield f"{name}.{f.name} (ForeignKey, db_constraint=False)", [f.column]
    for f in model._meta.private_fields:
        ct, fk = getattr(f, "ct_field", None), getattr(f, "fk_field", None)
        if ct and fk:
            columns = [model._meta.get_field(ct).column, model._meta.get_field(fk).column]
            yield f"{name}.{f.name} (GenericForeignKey)", columns


VISIBLE_TABLES = f"""
SELECT c.relname, greatest(c.reltuples, 0)::bigint AS rows
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid) AND {USER_SCHEMAS}
"""


def _visible_tables(ctx: AuditContext) -> dict[str, int]:
    return {r["relname"]: r["rows"] for r in ctx.rows(VISIBLE_TABLES)}


# PgHero's missing_indexes reads pg_stat_user_tables, a view that sums the scans of
# every index of every table (a join and a group by over all of pg_index: 100,000
# rows on a fleet). Here the tables are first filtered by their own counters (one
# pg_class scan), and only the few left get their indexes' scans summed, their
# rows read and their size.
SEQ_SCANS = """
WITH candidates AS MATERIALIZED (
  SELECT c.oid, c.relname, c.relnamespace, c.relpages,
         pg_stat_get_numscans(c.oid) AS seq_scan, pg_stat_get_live_tuples(c.oid) AS rows
  FROM pg_class c
  WHERE c.relkind IN ('r', 'm', 'p') AND c.relnamespace = ANY(%(schemas)s::oid[])
    AND pg_stat_get_live_tuples(c.oid) >= %(min_rows)s
    AND pg_stat_get_numscans(c.oid) >= %(min_scans)s
)
SELECT cd.relnamespace AS schema_oid, cd.relname AS "table", cd.seq_scan,
       pg_stat_get_tuples_returned(cd.oid) AS seq_tup_read, ix.idx_scan, cd.rows,
       greatest(cd.relpages, 0)::bigint * current_setting('block_size')::int AS bytes,
       round(100.0 * ix.idx_scan / (cd.seq_scan + ix.idx_scan), 1) AS index_pct
FROM candidates cd
CROSS JOIN LATERAL (
  SELECT coalesce(sum(pg_stat_get_numscans(i.indexrelid)), 0)::bigint AS idx_scan
  FROM pg_index i WHERE i.indrelid = cd.oid) ix
WHERE 100.0 * ix.idx_scan / (cd.seq_scan + ix.idx_scan) < %(max_pct)s
ORDER BY seq_tup_read DESC
"""


@check("AU102", "seq-scan-heavy-table", Severity.WARNING)
def seq_scan_heavy_table(ctx: AuditContext) -> Iterator[Hit]:
    """A large table is read mostly by sequential scans.

    ## What it does
    Reads the tables' statistics counters (``pg_stat_user_tables``'s) for tables
    of at least 10,000 rows where under 95% of scans use an index (PgHero's
    ``missing_indexes``), with the rows read per sequential scan and the table's
    size. The index scans are summed only for the tables past the row and scan
    thresholds.

    ## Why is this bad?
    Each sequential scan reads the whole table: cost grows with the table, and
    the scans push useful pages out of the cache.

    ## Fix
    Find the queries behind the scans: with ``pg_stat_statements`` installed,
    AU103 names the index that helps and proves the gain. Then add it with
    ``AddIndexConcurrently``.
    """
    t = ctx.thresholds
    params = {
        "min_rows": t.seq_scan_min_rows,
        "min_scans": t.seq_scan_min_scans,
        "max_pct": t.seq_scan_max_index_pct,
    }
    for row in ctx.rows(SEQ_SCANS, params):
        row["schema"] = ctx.schemas[row["schema_oid"]]
        where = qualified(row["schema"], row["table"])
        label = ctx.models.label(row["table"]) if ctx.models else where
        per_scan = row["seq_tup_read"] // max(row["seq_scan"], 1)
        yield Hit(
            message=(
                f"{label}: {row['seq_scan']:,} sequential scans reading {per_scan:,} rows each "
                f"on average, only {row['index_pct']}% of scans use an index "
                f"({row['rows']:,} rows, {mb(row['bytes'])})"
            ),
            obj=where,
            schema=row["schema"],
            evidence={k: row[k] for k in ("seq_scan", "seq_tup_read", "idx_scan", "rows")}
            | {"bytes": row["bytes"], "index_scan_pct": float(row["index_pct"])},
            fix=(
                "-- find the queries: CREATE EXTENSION pg_stat_statements (needs\n"
                "-- shared_preload_libraries), then `schemaops audit --check AU103`\n"
                f"SELECT query, calls, mean_exec_time FROM pg_stat_statements\n"
                f"WHERE query ILIKE '%{ident(row['table'])}%' ORDER BY total_exec_time DESC;"
            ),
        )


def _fk_supported(ctx: AuditContext, index: Index) -> str | None:
    """The foreign key this index serves (its leading columns cover the key), if any."""
    fks = ctx.cached("foreign_keys_by_table", lambda: _foreign_keys_by_table(ctx))
    keys = index.keys_text.split()[: index.nkey]
    for name, columns in fks.get(index.table_oid, ()):
        if set(keys[: len(columns)]) == columns:
            return name
    return None


def _foreign_keys_by_table(ctx: AuditContext) -> dict[int, list[tuple[str, set[str]]]]:
    """Table oid -> (name, attnums) of its foreign keys."""
    grouped: dict[int, list[tuple[str, set[str]]]] = {}
    for fk in foreign_keys(ctx):
        grouped.setdefault(fk.table, []).append((fk.name, set(fk.keys_text.split())))
    return grouped


@check("AU104", "unused-index", Severity.WARNING)
def unused_index(ctx: AuditContext) -> Iterator[Hit]:
    """An index has never been scanned since the statistics were reset.

    ## What it does
    Lists valid, non-unique indexes that back no constraint, have
    ``idx_scan = 0`` and take at least 1 MB, with the statistics reset time
    (PgHero, pg-extras, postgres-checkup H002). Django's ``_like`` indexes and
    indexes that serve a foreign key are labelled as such.

    ## Why is this bad?
    Every INSERT and most UPDATEs maintain every index: an unused one costs
    writes, WAL, vacuum time and cache space for nothing.

    ## Fix
    Check the replicas first (their scans are not counted here), and that the
    statistics cover a full business cycle. Then drop it concurrently, the
    Django way when a model declares it (``RemoveIndexConcurrently``, or
    ``db_index=False`` through ``SeparateDatabaseAndState``).
    """
    age = stats_age(ctx)
    days = age["days"]
    young = days is not None and days < ctx.thresholds.stats_min_days
    unused = [i for i in indexes(ctx) if _unused(ctx, i)]
    preload_definitions(ctx, unused)
    for index in unused:
        index = with_definition(ctx, index)
        fk = _fk_supported(ctx, index)
        label = describe(ctx.models, index)
        notes = [label] if label else []
        if fk:
            notes.append(f"it serves foreign key {fk}: without it deletes on the parent scan")
        since = f"{days:.1f} days ago" if days is not None else "never (since cluster creation)"
        yield Hit(
            message=(
                f"{index.obj} on {index.table_obj} ({mb(index.bytes)}) has had 0 scans since the "
                f"statistics were reset {since}"
                + "".join(f"; {n}" for n in notes)
                + "; check replicas before dropping"
            ),
            obj=index.obj,
            schema=index.schema,
            evidence={
                "bytes": index.bytes,
                "idx_scan": index.scans,
                "stats_reset": age["stats_reset"],
                "stats_days": round(days, 1) if days is not None else None,
                "serves_foreign_key": fk,
            },
            fix=drop_index_fix(ctx.models, index),
            severity=Severity.INFO if young or fk else library_severity(ctx.models, index),
        )


def _unused(ctx: AuditContext, index: Index) -> bool:
    return (
        index.is_valid
        and not index.attached
        and not index.is_unique
        and not index.backs_constraint
        and index.scans == 0
        and index.bytes >= ctx.thresholds.unused_index_min_bytes
    )


def _signature(index: Index) -> tuple[Any, ...]:
    return (
        index.am,
        index.keys_text,
        index.nkey,
        index.opclasses_text,
        index.collations_text,
        index.options_text,
        index.exprs,
        index.predicate,
        index.is_unique,
    )


@check("AU105", "duplicate-index", Severity.WARNING)
def duplicate_index(ctx: AuditContext) -> Iterator[Hit]:
    """Two indexes on a table are identical.

    ## What it does
    Groups indexes by table, access method, columns, operator classes,
    collations, sort options, expressions, predicate and uniqueness
    (ruby-pg-extras ``duplicate_indexes``), keeps the one backing a constraint
    or scanned most, and flags the others. A partition's copies of a
    partitioned table's indexes are judged once, on the partitioned table
    (AU104 and AU106 too): they cannot be dropped alone.

    ## Why is this bad?
    The copy doubles the write cost and the space and never speeds up a read.

    ## Fix
    Drop the copy concurrently; if a model declares it, remove it from the
    model in the same migration.
    """
    for table_indexes in indexes_by_table(ctx).values():
        groups: dict[tuple[Any, ...], list[Index]] = {}
        for index in table_indexes:
            if index.is_valid:
                groups.setdefault(_signature(index), []).append(index)
        for group in groups.values():
            if len(group) < 2:
                continue
            keep, *copies = sorted(group, key=_keep_first)
            for copy in copies:
                if copy.backs_constraint or copy.attached:
                    continue
                yield _copy_hit(ctx, copy, keep, "is identical to")


def _keep_first(index: Index) -> tuple[Any, ...]:
    """Keep what cannot go alone: a constraint's index, a partition's copy of a parent's."""
    return (not index.backs_constraint, not index.attached, -index.scans, index.index)


def _copy_hit(ctx: AuditContext, index: Index, keep: Index, relation: str) -> Hit:
    index, keep = with_definition(ctx, index), with_definition(ctx, keep)
    label = describe(ctx.models, index)
    keep_cols = ", ".join(c or "<expr>" for c in keep.key_columns)
    return Hit(
        message=(
            f"{index.obj} ({mb(index.bytes)}, {index.scans:,} scans)"
            + (f", {label}," if label else "")
            + f" {relation} {keep.obj} ({keep_cols})"
        ),
        obj=index.obj,
        schema=index.schema,
        evidence={
            "bytes": index.bytes,
            "idx_scan": index.scans,
            "covered_by": keep.obj,
            "covered_by_definition": keep.definition,
        },
        fix=drop_index_fix(ctx.models, index),
        severity=library_severity(ctx.models, index),
    )


@check("AU106", "redundant-index", Severity.WARNING)
def redundant_index(ctx: AuditContext) -> Iterator[Hit]:
    """An index is a leading prefix of another index (or a non-unique copy of a unique one).

    ## What it does
    Flags a valid, non-unique btree index whose key columns, operator classes,
    collations and sort options are the leading part of another valid btree
    index on the same table with the same predicate (PgHero
    ``duplicate_indexes``, postgres-checkup H004). This catches the index
    Django adds to every ForeignKey when a ``unique_together``,
    ``UniqueConstraint`` or ``Meta.indexes`` entry already starts with it.

    ## Why is this bad?
    The longer index answers every query the shorter one does; the shorter one
    only costs writes and space. A unique index is never flagged: it enforces
    a rule.

    ## Fix
    Drop it concurrently. For a ForeignKey's own index set ``db_index=False``
    through ``SeparateDatabaseAndState`` so Django forgets it without a
    blocking ``DROP INDEX``; for a ``Meta.indexes`` entry use
    ``RemoveIndexConcurrently``.
    """
    pairs = []
    for table_indexes in indexes_by_table(ctx).values():
        wider_by_prefix = _prefixes(table_indexes)
        for index in table_indexes:
            if not _prefix_candidate(index):
                continue
            wider = wider_by_prefix.get((index.predicate, index.column_signature))
            if wider is not None:
                pairs.append((index, wider))
    preload_definitions(ctx, [i for pair in pairs for i in pair])
    for index, wider in pairs:
        relation = (
            "duplicates the unique index" if wider.nkey == index.nkey else "is a leading prefix of"
        )
        yield _copy_hit(ctx, index, wider, relation)


def _prefixes(table_indexes: list[Index]) -> dict[tuple[Any, ...], Index]:
    """(predicate, leading key columns) -> the first valid btree index that covers them.

    An index covers its proper prefixes, and a unique index its whole key too (a
    non-unique copy of a unique index is redundant).
    """
    found: dict[tuple[Any, ...], Index] = {}
    setdefault = found.setdefault
    for wider in table_indexes:
        if not wider.is_valid or wider.am != "btree" or wider.exprs is not None:
            continue
        columns, predicate = wider.column_signature, wider.predicate
        last = len(columns) if wider.is_unique else len(columns) - 1
        for n in range(1, last + 1):
            setdefault((predicate, columns[:n]), wider)
    return found


def _prefix_candidate(index: Index) -> bool:
    return (
        not index.is_unique
        and index.is_valid
        and index.am == "btree"
        and index.exprs is None
        and not index.attached
        and not index.backs_constraint
        and not index.has_include
    )


COLLATIONS = """
SELECT (SELECT datcollate FROM pg_database WHERE datname = current_database()) AS db,
       coalesce(json_object_agg(oid::text, collname), '{}') AS names
FROM pg_collation
"""


@check("AU107", "redundant-like-index", Severity.WARNING)
def redundant_like_index(ctx: AuditContext) -> Iterator[Hit]:
    """A Django ``_like`` (pattern_ops) index is redundant under the C collation.

    ## What it does
    Django adds a second ``<name>_like`` index with ``varchar_pattern_ops`` or
    ``text_pattern_ops`` to every indexed or unique CharField and TextField, so
    that ``startswith``/``LIKE 'x%'`` can use an index under a non-C collation.
    This check flags those indexes when the column's collation is ``C`` (or
    ``POSIX``) and a plain btree index on the same column exists.

    ## Why is this bad?
    Under the C collation the plain index already serves ``LIKE 'x%'``: the
    ``_like`` index doubles the write cost and space for nothing.

    ## Fix
    Drop it concurrently. Django recreates it whenever the field is altered, so
    for a ``unique=True`` field, prefer a ``UniqueConstraint`` in
    ``Meta.constraints`` (which adds no ``_like`` index); for ``db_index=True``,
    prefer an explicit ``models.Index`` in ``Meta.indexes``.
    """
    coll = ctx.rows(COLLATIONS)[0]
    names, db_collation = coll["names"], coll["db"]
    for table_indexes in indexes_by_table(ctx).values():
        for index in table_indexes:
            if not (index.nkey == 1 and index.is_valid and index.is_like_index):
                continue
            if index.attached:
                continue
            oid = index.collations[0]
            effective = db_collation if oid in (0, 100) else names.get(str(oid))
            if effective not in ("C", "POSIX"):
                continue
            plain = next((c for c in table_indexes if _plain_on(c, index)), None)
            if plain is not None:
                hit = _copy_hit(ctx, index, plain, "is redundant under the C collation with")
                hit.evidence["collation"] = effective
                yield hit


def _plain_on(candidate: Index, like: Index) -> bool:
    return (
        candidate.index_oid != like.index_oid
        and candidate.is_valid
        and candidate.am == "btree"
        and candidate.keys[:1] == like.keys[:1]
        and not candidate.is_like_index
        and candidate.predicate is None
    )


BUILDING = "SELECT index_relid FROM pg_stat_progress_create_index"


@check("AU108", "invalid-index", Severity.ERROR)
def invalid_index(ctx: AuditContext) -> Iterator[Hit]:
    """An index is invalid, left behind by a failed CREATE INDEX CONCURRENTLY.

    ## What it does
    Lists indexes with ``pg_index.indisvalid = false`` that no running
    ``CREATE INDEX`` is building right now (PgHero, postgres-checkup H001).

    ## Why is this bad?
    The planner never uses an invalid index, yet every write still maintains
    it. Django believes the index exists if the migration was recorded, and a
    re-run of ``AddIndexConcurrently`` fails with "already exists" if not. An
    invalid unique index enforces nothing.

    ## Fix
    Rebuild it with ``REINDEX INDEX CONCURRENTLY`` (keeps the name the model
    expects), or drop it concurrently and re-run the migration that failed.
    A partitioned index is invalid while a partition has no index attached to
    it: build one concurrently on each such partition and ``ALTER INDEX ...
    ATTACH PARTITION`` it (the fix lists the statements).
    """
    building = {r["index_relid"] for r in ctx.rows(BUILDING)}
    for index in indexes(ctx):
        if index.is_valid or index.index_oid in building:
            continue
        index = with_definition(ctx, index)
        if index.partitioned:
            yield _invalid_partitioned(ctx, index)
            continue
        label = describe(ctx.models, index)
        name = f"{ident(index.schema)}.{ident(index.index)}"
        yield Hit(
            message=(
                f"{index.obj} on {index.table_obj} is INVALID: never used by queries, still "
                f"maintained on every write" + (f" ({label})" if label else "")
            ),
            obj=index.obj,
            schema=index.schema,
            evidence={
                "bytes": index.bytes,
                "definition": index.definition,
                "table_rows": index.table_rows,
            },
            fix=(
                f"-- rebuild it, keeping the name:\nREINDEX INDEX CONCURRENTLY {name};\n"
                f"-- or drop it and re-run the migration that failed:\n"
                f"DROP INDEX CONCURRENTLY IF EXISTS {name};"
            ),
        )


UNATTACHED = """
SELECT n.nspname AS schema, c.relname AS "table", c.relkind = 'p' AS partitioned
FROM pg_inherits ti
JOIN pg_class c ON c.oid = ti.inhrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE ti.inhparent = %(table)s
  AND NOT EXISTS (SELECT 1 FROM pg_inherits ii JOIN pg_index x ON x.indexrelid = ii.inhrelid
                  WHERE ii.inhparent = %(index)s AND x.indrelid = c.oid AND x.indisvalid)
ORDER BY 1, 2
"""


def _invalid_partitioned(ctx: AuditContext, index: Index) -> Hit:
    """A partitioned index stays invalid until every partition has an index attached to it."""
    missing = ctx.rows(UNATTACHED, {"table": index.table_oid, "index": index.index_oid})
    names = [qualified(r["schema"], r["table"]) for r in missing]
    return Hit(
        message=(
            f"partitioned index {index.obj} on {index.table_obj} is INVALID: "
            f"{len(names)} partition(s) have no index attached to it ("
            + ", ".join(names[:5])
            + (", ..." if len(names) > 5 else "")
            + "); queries on those partitions cannot use it and a unique one enforces nothing"
        ),
        obj=index.obj,
        schema=index.schema,
        evidence={"definition": index.definition, "partitions_without_index": names},
        fix=_attach_recipe(index, missing),
    )


def _attach_recipe(index: Index, missing: list[dict[str, Any]]) -> str:
    from pglast import parse_sql
    from pglast.stream import RawStream

    parent = f"{ident(index.schema)}.{ident(index.index)}"
    lines = ["-- build the index on each partition without locking it, then attach it:"]
    for row in missing:
        name = _truncate(f"{row['table']}_{index.index}")
        stmt: Any = parse_sql(index.definition)[0].stmt
        stmt.relation.schemaname, stmt.relation.relname = row["schema"], row["table"]
        stmt.idxname = name
        if row["partitioned"]:
            lines.append(
                f"-- {row['table']} is partitioned too: repeat these steps for its partitions"
            )
            stmt.relation.inh = False  # ON ONLY: valid once its own partitions are attached
        else:
            stmt.relation.inh = True
            stmt.concurrent = True
        lines.append(str(RawStream()(stmt)) + ";")
        lines.append(f"ALTER INDEX {parent} ATTACH PARTITION {ident(row['schema'])}.{ident(name)};")
    return "\n".join(lines)


def _truncate(name: str, limit: int = 63) -> str:
    """PostgreSQL's NAMEDATALEN: identifiers are cut at 63 bytes."""
    raw = name.encode()
    return raw[:limit].decode(errors="ignore") if len(raw) > limit else name
