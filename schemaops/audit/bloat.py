"""Bloat estimates for btree indexes and tables (AU109, AU110).

Both follow the well-known estimates by ioguix (pgexperts), also used by
pg-extras ``bloat`` and postgres-checkup F004/F005: the expected number of
pages is computed from ``pg_stats`` column widths and null fractions and
``reltuples``, then compared with ``relpages``. They read no table data and
take no locks; tables never analyzed are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from schemaops.audit._base import AuditContext, Hit, check, mb, qualified
from schemaops.audit._catalog import NOT_EXTENSION, USER_SCHEMAS, note_unreadable_tables
from schemaops.findings import Severity
from schemaops.statements import ident

# 8 = MAXALIGN on 64-bit builds; 24 = page header; 16 = btree special space.
INDEX_BLOAT = f"""
WITH cols AS (
  SELECT i.indexrelid, i.indrelid, k.ord, coalesce(ta.attname, ia.attname) AS attname,
         CASE WHEN k.num = 0 THEN ic.relname ELSE t.relname END AS statrel
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord)
  LEFT JOIN pg_attribute ta ON k.num <> 0 AND ta.attrelid = i.indrelid AND ta.attnum = k.num
  LEFT JOIN pg_attribute ia ON k.num = 0 AND ia.attrelid = i.indexrelid AND ia.attnum = k.ord
  WHERE ic.relam = (SELECT oid FROM pg_am WHERE amname = 'btree') AND ic.relpages > 0
), widths AS (
  SELECT c.indexrelid, n.nspname,
         max(coalesce(s.null_frac, 0)) > 0 AS has_nulls,
         sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 1024)) AS data_width,
         count(s.attname) = count(*) AS has_stats
  FROM cols c
  JOIN pg_class t ON t.oid = c.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.statrel
       AND s.attname = c.attname AND NOT s.inherited
  WHERE {USER_SCHEMAS}
  GROUP BY c.indexrelid, n.nspname
), sized AS (
  SELECT w.*, ic.relname AS "index", t.relname AS "table", ic.relpages, ic.reltuples,
         coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(ic.reloptions) o
                   WHERE o LIKE 'fillfactor=%%'), 90) AS fillfactor,
         -- IndexTupleData (8, +4 for a null bitmap) and the data, each MAXALIGNed
         (ceil((CASE WHEN w.has_nulls THEN 12 ELSE 8 END) / 8.0) * 8
          + ceil(w.data_width / 8.0) * 8) AS tuple_width
  FROM widths w
  JOIN pg_class ic ON ic.oid = w.indexrelid
  JOIN pg_index i ON i.indexrelid = w.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  WHERE w.has_stats AND ic.reltuples > 0
)
SELECT nspname AS schema, "table", "index",
       relpages::bigint * 8192 AS bytes,
       (1 + ceil(reltuples / floor((8192 - 24 - 16) * fillfactor / (100 * (4 + tuple_width)))))
         AS expected_pages,
       relpages
FROM sized
"""


@check("AU109", "index-bloat", Severity.WARNING)
def index_bloat(ctx: AuditContext) -> Iterator[Hit]:
    """A btree index is estimated to be mostly empty space.

    ## What it does
    Estimates each btree index's size from ``pg_stats`` widths and the row
    count, with the index's fillfactor, and compares it with the real size
    (ioguix/pgexperts estimate; PgHero, pg-extras, postgres-checkup F005).
    Flags at least 50% and 1 MB of estimated bloat.

    ## Why is this bad?
    Pages emptied by deletes and updates stay allocated: the index is larger
    than it needs to be, so it is slower to scan and takes cache space.
    VACUUM reuses the space but never gives it back.

    ## Fix
    ``REINDEX INDEX CONCURRENTLY`` (PostgreSQL 12+) rebuilds it without
    blocking writes. It is an estimate: check with ``pgstatindex()``
    (pgstattuple) on a large index first.
    """
    note_unreadable_tables(ctx)
    for row in ctx.rows(INDEX_BLOAT):
        est = _estimate(ctx, row)
        if est is None:
            continue
        where = qualified(row["schema"], row["index"])
        yield Hit(
            message=(
                f"index {where} on {row['table']} is {mb(row['bytes'])}, about {est['pct']:.0f}% "
                f"bloat ({mb(est['bloat_bytes'])} reclaimable)"
            ),
            obj=where,
            evidence=est,
            fix=f"REINDEX INDEX CONCURRENTLY {ident(row['schema'])}.{ident(row['index'])};",
        )


def _estimate(ctx: AuditContext, row: dict[str, Any]) -> dict[str, Any] | None:
    """Bloat figures, or None below the thresholds."""
    pages, expected = int(row["relpages"]), int(row["expected_pages"])
    bloat_pages = max(pages - expected, 0)
    bloat_bytes = bloat_pages * 8192
    pct = 100.0 * bloat_pages / pages if pages else 0.0
    t = ctx.thresholds
    if bloat_bytes < t.bloat_min_bytes or pct < t.bloat_min_pct:
        return None
    return {
        "bytes": pages * 8192,
        "expected_bytes": expected * 8192,
        "bloat_bytes": bloat_bytes,
        "pct": round(pct, 1),
    }


TABLE_BLOAT = f"""
WITH widths AS (
  SELECT c.oid, n.nspname AS schema, c.relname AS "table", c.relpages, c.reltuples,
         coalesce(toast.relpages, 0) AS toast_pages, coalesce(toast.reltuples, 0) AS toast_tuples,
         coalesce((SELECT split_part(o, '=', 2)::int FROM unnest(c.reloptions) o
                   WHERE o LIKE 'fillfactor=%%'), 100) AS fillfactor,
         23 + CASE WHEN max(coalesce(s.null_frac, 0)) > 0 THEN (7 + count(*)) / 8 ELSE 0 END
           AS header_width,
         sum((1 - coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 0)) AS data_width,
         count(s.attname) = count(*) AS has_stats
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
       AND s.attname = a.attname AND NOT s.inherited
  LEFT JOIN pg_class toast ON toast.oid = c.reltoastrelid
  WHERE c.relkind IN ('r', 'm') AND c.relpages > 0 AND c.reltuples > 0
    AND {USER_SCHEMAS} AND {NOT_EXTENSION.format(rel="c")}
  GROUP BY c.oid, n.nspname, c.relname, c.relpages, c.reltuples, toast.relpages,
           toast.reltuples, c.reloptions
)
SELECT schema, "table", "index", relpages + toast_pages AS relpages,
       (ceil(reltuples / ((8192 - 24) * fillfactor / 100.0
              / (4 + ceil(header_width / 8.0) * 8 + ceil(data_width / 8.0) * 8)))
        + ceil(toast_tuples / 4)) AS expected_pages,
       (relpages + toast_pages)::bigint * 8192 AS bytes
FROM (SELECT *, NULL::name AS "index" FROM widths WHERE has_stats) w
"""


@check("AU110", "table-bloat", Severity.WARNING)
def table_bloat(ctx: AuditContext) -> Iterator[Hit]:
    """A table is estimated to be mostly empty space.

    ## What it does
    Estimates each analyzed table's size from ``pg_stats`` widths, null
    fractions, row count and fillfactor, and compares it with the real size
    (ioguix estimate; pg-extras ``bloat``, postgres-checkup F004). Flags at
    least 50% and 1 MB of estimated bloat.

    ## Why is this bad?
    Dead space left by updates and deletes makes every sequential scan read
    more pages and wastes cache. VACUUM marks it reusable but rarely shrinks
    the file.

    ## Fix
    If autovacuum keeps up (see AU402) the space is reused by new rows. To
    return it, rebuild the table online with ``pg_repack`` or ``pg_squeeze``;
    ``VACUUM FULL`` rewrites it under an ACCESS EXCLUSIVE lock for the whole run.
    """
    note_unreadable_tables(ctx)
    for row in ctx.rows(TABLE_BLOAT):
        est = _estimate(ctx, row)
        if est is None:
            continue
        where = qualified(row["schema"], row["table"])
        label = ctx.models.label(row["table"]) if ctx.models else where
        yield Hit(
            message=(
                f"table {label} is {mb(row['bytes'])}, about {est['pct']:.0f}% bloat "
                f"({mb(est['bloat_bytes'])} reclaimable)"
            ),
            obj=where,
            evidence=est,
            fix=(
                f"pg_repack --no-order --table={where} <dbname>   # online rebuild\n"
                f"-- or, blocking everything while it runs: VACUUM FULL "
                f"{ident(row['schema'])}.{ident(row['table'])};"
            ),
        )
