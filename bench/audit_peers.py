"""What the peers run to answer the question each audit check answers, for side-by-side timing.

Each entry maps a check code to the peer, the method it copies, and a function
that runs the peer's catalog queries on a connection: the SQL as the peers
ship it (PgHero ``lib/pghero/methods/*.rb``; pg-extras ``queries/*.sql``, the
Heroku plugin's ``bloat``; active_record_doctor's detectors through the Rails
PostgreSQL adapter's per-table queries, timed on a sample of tables and scaled
to all of them). Only the database work is measured, none of the peers' own
post-processing in Ruby: a lower bound of what each peer takes. Each run
returns a :class:`Cost`: wall time, the server backend's CPU time (read in
``/proc`` for a local server) and this process's CPU time (the driver's).
Checks without an entry have no equivalent in PgHero, pg-extras or
active_record_doctor.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg2 import sql


def server_cpu(pid: int) -> float:
    """CPU seconds a local server process has used (nan when /proc cannot show it).

    ``/proc/<pid>/schedstat`` counts nanoseconds (``stat`` only 10 ms ticks, too
    coarse for a 5 ms catalog query); a remote server's backends are not visible.
    """
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Cost:
    """What some database work cost: wall seconds, server CPU seconds, client CPU seconds."""

    wall: float
    server: float
    client: float

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.wall + other.wall, self.server + other.server, self.client + other.client)

    def scaled(self, factor: float) -> Cost:
        return Cost(self.wall * factor, self.server * factor, self.client * factor)

    @property
    def cpu(self) -> float:
        return self.server + self.client


def measured(conn: Any, work: Callable[[], Any]) -> Cost:
    """Run ``work`` and measure it: wall, the connection's backend CPU, this thread's CPU."""
    pid = conn.get_backend_pid()
    server, client, started = server_cpu(pid), time.thread_time(), time.perf_counter()
    work()
    wall = time.perf_counter() - started
    return Cost(wall, server_cpu(pid) - server, time.thread_time() - client)


@dataclass(frozen=True)
class Peer:
    tool: str  # e.g. "PgHero unused_indexes"
    run: Callable[[Any], Cost]  # runs the peer's queries on a connection


def _query(text: str) -> Callable[[Any], Cost]:
    def run(conn: Any) -> Cost:
        def work() -> None:
            with conn.cursor() as cur:
                cur.execute(text)
                cur.fetchall()

        return measured(conn, work)

    return run


# PgHero missing_indexes (methods/indexes.rb)
PGHERO_MISSING_INDEXES = """
SELECT schemaname AS schema, relname AS table,
  CASE idx_scan WHEN 0 THEN 'Insufficient data'
    ELSE (100 * idx_scan / (seq_scan + idx_scan))::text END percent_of_times_index_used,
  n_live_tup AS estimated_rows
FROM pg_stat_user_tables
WHERE idx_scan > 0 AND (100 * idx_scan / (seq_scan + idx_scan)) < 95 AND n_live_tup >= 10000
ORDER BY n_live_tup DESC, relname ASC
"""
# PgHero unused_indexes (max_scans: 50, its default)
PGHERO_UNUSED_INDEXES = """
SELECT schemaname AS schema, relname AS table, indexrelname AS index,
  pg_relation_size(i.indexrelid) AS size_bytes, idx_scan as index_scans
FROM pg_stat_user_indexes ui INNER JOIN pg_index i ON ui.indexrelid = i.indexrelid
WHERE NOT indisunique AND idx_scan <= 50
ORDER BY pg_relation_size(i.indexrelid) DESC, relname ASC
"""
# PgHero indexes: the listing behind duplicate_indexes and invalid_indexes
PGHERO_INDEXES = r"""
SELECT schemaname AS schema, t.relname AS table, ix.relname AS name,
  regexp_replace(pg_get_indexdef(i.indexrelid), '^[^\(]*\((.*)\)$', '\1') AS columns,
  regexp_replace(pg_get_indexdef(i.indexrelid), '.* USING ([^ ]*) \(.*', '\1') AS using,
  indisunique AS unique, indisprimary AS primary, indisvalid AS valid,
  indexprs::text, indpred::text, pg_get_indexdef(i.indexrelid) AS definition
FROM pg_index i
INNER JOIN pg_class t ON t.oid = i.indrelid
INNER JOIN pg_class ix ON ix.oid = i.indexrelid
LEFT JOIN pg_stat_user_indexes ui ON ui.indexrelid = i.indexrelid
WHERE schemaname IS NOT NULL
ORDER BY 1, 2
"""
# pg-extras duplicate_indexes
PGEXTRAS_DUPLICATE_INDEXES = r"""
SELECT pg_size_pretty(sum(pg_relation_size(idx))::bigint) as size,
       (array_agg(idx))[1] as idx1, (array_agg(idx))[2] as idx2,
       (array_agg(idx))[3] as idx3, (array_agg(idx))[4] as idx4
FROM (
  SELECT indexrelid::regclass as idx,
         (indrelid::text ||E'\n'|| indclass::text ||E'\n'|| indkey::text ||E'\n'||
          coalesce(indexprs::text,'')||E'\n' || coalesce(indpred::text,'')) as key
  FROM pg_index) sub
GROUP BY key HAVING count(*)>1
ORDER BY sum(pg_relation_size(idx)) DESC
"""
# PgHero index_bloat (min_size: 100 MB, its default)
PGHERO_INDEX_BLOAT = """
WITH btree_index_atts AS (
  SELECT nspname, relname, reltuples, relpages, indrelid, relam,
    regexp_split_to_table(indkey::text, ' ')::smallint AS attnum, indexrelid as index_oid
  FROM pg_index
  JOIN pg_class ON pg_class.oid = pg_index.indexrelid
  JOIN pg_namespace ON pg_namespace.oid = pg_class.relnamespace
  JOIN pg_am ON pg_class.relam = pg_am.oid
  WHERE pg_am.amname = 'btree'
), index_item_sizes AS (
  SELECT i.nspname, i.relname, i.reltuples, i.relpages, i.relam,
    (quote_ident(s.schemaname) || '.' || quote_ident(s.tablename))::regclass AS starelid,
    a.attrelid AS table_oid, index_oid,
    current_setting('block_size')::numeric AS bs,
    CASE WHEN version() ~ 'mingw32' OR version() ~ '64-bit' THEN 8 ELSE 4 END AS maxalign,
    24 AS pagehdr,
    CASE WHEN max(coalesce(s.null_frac,0)) = 0 THEN 2 ELSE 6 END AS index_tuple_hdr,
    sum( (1-coalesce(s.null_frac, 0)) * coalesce(s.avg_width, 2048) ) AS nulldatawidth
  FROM pg_attribute AS a
  JOIN pg_stats AS s ON (quote_ident(s.schemaname) || '.' || quote_ident(s.tablename))::regclass
       = a.attrelid AND s.attname = a.attname
  JOIN btree_index_atts AS i ON i.indrelid = a.attrelid AND a.attnum = i.attnum
  WHERE a.attnum > 0
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
), index_aligned AS (
  SELECT maxalign, bs, nspname, relname AS index_name, reltuples, relpages, relam, table_oid,
    index_oid,
    ( 2 + maxalign - CASE WHEN index_tuple_hdr%maxalign = 0 THEN maxalign
                          ELSE index_tuple_hdr%maxalign END
      + nulldatawidth + maxalign - CASE WHEN nulldatawidth::integer%maxalign = 0 THEN maxalign
                                        ELSE nulldatawidth::integer%maxalign END
    )::numeric AS nulldatahdrwidth, pagehdr
  FROM index_item_sizes AS s1
), otta_calc AS (
  SELECT bs, nspname, table_oid, index_oid, index_name, relpages,
    coalesce(ceil((reltuples*(4+nulldatahdrwidth))/(bs-pagehdr::float)) +
      CASE WHEN am.amname IN ('hash','btree') THEN 1 ELSE 0 END , 0) AS otta
  FROM index_aligned AS s2 LEFT JOIN pg_am am ON s2.relam = am.oid
), raw_bloat AS (
  SELECT nspname, c.relname AS table_name, index_name,
    bs*(sub.relpages)::bigint AS totalbytes,
    CASE WHEN sub.relpages <= otta THEN 0 ELSE bs*(sub.relpages-otta)::bigint END AS wastedbytes,
    CASE WHEN sub.relpages <= otta THEN 0
      ELSE bs*(sub.relpages-otta)::bigint * 100 / (bs*(sub.relpages)::bigint) END AS realbloat,
    pg_relation_size(sub.table_oid) as table_bytes, stat.idx_scan as index_scans,
    stat.indexrelid
  FROM otta_calc AS sub
  JOIN pg_class AS c ON c.oid=sub.table_oid
  JOIN pg_stat_user_indexes AS stat ON sub.index_oid = stat.indexrelid
)
SELECT nspname AS schema, table_name AS table, index_name AS index, wastedbytes AS bloat_bytes,
  totalbytes AS index_bytes, pg_get_indexdef(rb.indexrelid) AS definition, indisprimary AS primary
FROM raw_bloat rb INNER JOIN pg_index i ON i.indexrelid = rb.indexrelid
WHERE wastedbytes >= 104857600
ORDER BY wastedbytes DESC, index_name
"""
# Heroku pg-extras bloat (tables and indexes in one query)
PGEXTRAS_BLOAT = """
WITH constants AS (
  SELECT current_setting('block_size')::numeric AS bs, 23 AS hdr, 4 AS ma
), bloat_info AS (
  SELECT ma,bs,schemaname,tablename,
    (datawidth+(hdr+ma-(case when hdr%ma=0 THEN ma ELSE hdr%ma END)))::numeric AS datahdr,
    (maxfracsum*(nullhdr+ma-(case when nullhdr%ma=0 THEN ma ELSE nullhdr%ma END))) AS nullhdr2
  FROM (
    SELECT schemaname, tablename, hdr, ma, bs,
      SUM((1-null_frac)*avg_width) AS datawidth, MAX(null_frac) AS maxfracsum,
      hdr+(SELECT 1+count(*)/8 FROM pg_stats s2
           WHERE null_frac<>0 AND s2.schemaname = s.schemaname AND s2.tablename = s.tablename
      ) AS nullhdr
    FROM pg_stats s, constants
    GROUP BY 1,2,3,4,5
  ) AS foo
), table_bloat AS (
  SELECT schemaname, tablename, cc.relpages, bs,
    CEIL((cc.reltuples*((datahdr+ma-
      (CASE WHEN datahdr%ma=0 THEN ma ELSE datahdr%ma END))+nullhdr2+4))/(bs-20::float)) AS otta
  FROM bloat_info
  JOIN pg_class cc ON cc.relname = bloat_info.tablename
  JOIN pg_namespace nn ON cc.relnamespace = nn.oid AND nn.nspname = bloat_info.schemaname
       AND nn.nspname <> 'information_schema'
), index_bloat AS (
  SELECT schemaname, tablename, bs,
    COALESCE(c2.relname,'?') AS iname, COALESCE(c2.reltuples,0) AS ituples,
    COALESCE(c2.relpages,0) AS ipages,
    COALESCE(CEIL((c2.reltuples*(datahdr-12))/(bs-20::float)),0) AS iotta
  FROM bloat_info
  JOIN pg_class cc ON cc.relname = bloat_info.tablename
  JOIN pg_namespace nn ON cc.relnamespace = nn.oid AND nn.nspname = bloat_info.schemaname
       AND nn.nspname <> 'information_schema'
  JOIN pg_index i ON indrelid = cc.oid
  JOIN pg_class c2 ON c2.oid = i.indexrelid
)
SELECT type, schemaname, object_name, bloat, pg_size_pretty(raw_waste) as waste
FROM (
  SELECT 'table' as type, schemaname, tablename as object_name,
    ROUND(CASE WHEN otta=0 THEN 0.0 ELSE table_bloat.relpages/otta::numeric END,1) AS bloat,
    CASE WHEN relpages < otta THEN '0' ELSE (bs*(table_bloat.relpages-otta)::bigint)::bigint END
      AS raw_waste
  FROM table_bloat
  UNION
  SELECT 'index' as type, schemaname, tablename || '::' || iname as object_name,
    ROUND(CASE WHEN iotta=0 OR ipages=0 THEN 0.0 ELSE ipages/iotta::numeric END,1) AS bloat,
    CASE WHEN ipages < iotta THEN '0' ELSE (bs*(ipages-iotta))::bigint END AS raw_waste
  FROM index_bloat) bloat_summary
ORDER BY raw_waste DESC, bloat DESC
"""
# PgHero invalid_constraints (methods/constraints.rb)
PGHERO_INVALID_CONSTRAINTS = """
SELECT nsp.nspname AS schema, rel.relname AS table, con.conname AS name,
  fnsp.nspname AS referenced_schema, frel.relname AS referenced_table
FROM pg_catalog.pg_constraint con
INNER JOIN pg_catalog.pg_class rel ON rel.oid = con.conrelid
LEFT JOIN pg_catalog.pg_class frel ON frel.oid = con.confrelid
LEFT JOIN pg_catalog.pg_namespace nsp ON nsp.oid = con.connamespace
LEFT JOIN pg_catalog.pg_namespace fnsp ON fnsp.oid = frel.relnamespace
WHERE con.convalidated = 'f'
"""
# PgHero transaction_id_danger (threshold 10,000,000)
PGHERO_XID_DANGER = """
SELECT n.nspname AS schema, c.relname AS table,
  2146483648 - GREATEST(AGE(c.relfrozenxid), AGE(t.relfrozenxid)) AS transactions_left
FROM pg_class c
INNER JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON c.reltoastrelid = t.oid
WHERE c.relkind = 'r'
  AND (2146483648 - GREATEST(AGE(c.relfrozenxid), AGE(t.relfrozenxid))) < 10000000
ORDER BY 3, 1, 2
"""
# pg-extras vacuum_stats
PGEXTRAS_VACUUM_STATS = r"""
WITH table_opts AS (
  SELECT pg_class.oid, relname, nspname, array_to_string(reloptions, '') AS relopts
  FROM pg_class INNER JOIN pg_namespace ns ON relnamespace = ns.oid
), vacuum_settings AS (
  SELECT oid, relname, nspname,
    CASE WHEN relopts LIKE '%autovacuum_vacuum_threshold%'
      THEN substring(relopts, '.*autovacuum_vacuum_threshold=([0-9.]+).*')::integer
      ELSE current_setting('autovacuum_vacuum_threshold')::integer
    END AS autovacuum_vacuum_threshold,
    CASE WHEN relopts LIKE '%autovacuum_vacuum_scale_factor%'
      THEN substring(relopts, '.*autovacuum_vacuum_scale_factor=([0-9.]+).*')::real
      ELSE current_setting('autovacuum_vacuum_scale_factor')::real
    END AS autovacuum_vacuum_scale_factor,
    CASE WHEN relopts LIKE '%autovacuum_vacuum_insert_threshold%'
      THEN substring(relopts, '.*autovacuum_vacuum_insert_threshold=([0-9.]+).*')::integer
      ELSE current_setting('autovacuum_vacuum_insert_threshold')::integer
    END AS autovacuum_vacuum_insert_threshold,
    CASE WHEN relopts LIKE '%autovacuum_vacuum_insert_scale_factor%'
      THEN substring(relopts, '.*autovacuum_vacuum_insert_scale_factor=([0-9.]+).*')::real
      ELSE current_setting('autovacuum_vacuum_insert_scale_factor')::real
    END AS autovacuum_vacuum_insert_scale_factor
  FROM table_opts
)
SELECT vacuum_settings.nspname AS schema, vacuum_settings.relname AS table,
  to_char(psut.last_vacuum, 'YYYY-MM-DD HH24:MI') AS last_manual_vacuum,
  to_char(psut.vacuum_count, '9G999G999G999') AS manual_vacuum_count,
  to_char(psut.last_autovacuum, 'YYYY-MM-DD HH24:MI') AS last_autovacuum,
  to_char(psut.autovacuum_count, '9G999G999G999') AS autovacuum_count,
  to_char(pg_class.reltuples, '9G999G999G999') AS rowcount,
  to_char(psut.n_dead_tup, '9G999G999G999') AS dead_rowcount,
  to_char(autovacuum_vacuum_threshold
    + (autovacuum_vacuum_scale_factor::numeric * pg_class.reltuples), '9G999G999G999')
    AS dead_tup_autovacuum_threshold,
  to_char(psut.n_ins_since_vacuum, '9G999G999G999') AS n_ins_since_vacuum,
  to_char(autovacuum_vacuum_insert_threshold
    + (autovacuum_vacuum_insert_scale_factor::numeric * pg_class.reltuples), '9G999G999G999')
    AS insert_autovacuum_threshold,
  CASE
    WHEN psut.n_dead_tup >= autovacuum_vacuum_threshold
         + (autovacuum_vacuum_scale_factor::numeric * pg_class.reltuples)
      AND psut.n_ins_since_vacuum >= autovacuum_vacuum_insert_threshold
         + (autovacuum_vacuum_insert_scale_factor::numeric * pg_class.reltuples)
    THEN 'yes (dead_tuples & inserts)'
    WHEN psut.n_dead_tup >= autovacuum_vacuum_threshold
         + (autovacuum_vacuum_scale_factor::numeric * pg_class.reltuples)
    THEN 'yes (dead_tuples)'
    WHEN psut.n_ins_since_vacuum >= autovacuum_vacuum_insert_threshold
         + (autovacuum_vacuum_insert_scale_factor::numeric * pg_class.reltuples)
    THEN 'yes (inserts)'
  END AS expect_autovacuum
FROM pg_stat_user_tables psut INNER JOIN pg_class ON psut.relid = pg_class.oid
  INNER JOIN vacuum_settings ON pg_class.oid = vacuum_settings.oid
ORDER BY 1
"""

# PgHero sequences: columns fed by nextval(), readable sequences, then last_value in
# UNION ALL batches of 1024 (methods/sequences.rb).
PGHERO_SEQUENCE_COLUMNS = r"""
SELECT n.nspname AS table_schema, c.relname AS table, attname AS column,
  format_type(a.atttypid, a.atttypmod) AS column_type,
  pg_get_expr(d.adbin, d.adrelid) AS default_value
FROM pg_catalog.pg_attribute a
INNER JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
INNER JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
INNER JOIN pg_catalog.pg_attrdef d ON (a.attrelid, a.attnum) = (d.adrelid,  d.adnum)
WHERE NOT a.attisdropped AND a.attnum > 0
  AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval%'
  AND n.nspname NOT LIKE 'pg\_temp\_%'
"""
PGHERO_SEQUENCE_ATTRIBUTES = """
SELECT n.nspname AS schema, c.relname AS sequence,
  has_sequence_privilege(c.oid, 'SELECT') AS readable
FROM pg_class c INNER JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


def _pghero_sequences(conn: Any) -> Cost:
    return measured(conn, lambda: _pghero_sequences_work(conn))


def _pghero_sequences_work(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute(PGHERO_SEQUENCE_COLUMNS)
        columns = cur.fetchall()
        cur.execute(PGHERO_SEQUENCE_ATTRIBUTES)
        cur.fetchall()
        names = []
        for _schema, _table, _column, _type, default in columns:
            # nextval('tenant_000.t1_id_seq'::regclass): the regclass text, as PgHero parses it
            name = default.split("'")[1]
            schema, _, seq = name.rpartition(".")
            names.append((schema or "public", seq.strip('"')))
        for start in range(0, len(names), 1024):
            union = sql.SQL(" UNION ALL ").join(
                sql.SQL("SELECT last_value FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(seq)
                )
                for schema, seq in names[start : start + 1024]
            )
            cur.execute(union)
            cur.fetchall()


# active_record_doctor walks every table through the Rails PostgreSQL adapter: the
# table list, then per table the primary key and the column definitions.
RAILS_TABLES = r"""
SELECT n.nspname, c.relname FROM pg_class c LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
  AND c.relkind IN ('r','p')
"""
RAILS_PRIMARY_KEYS = """
SELECT a.attname
FROM (SELECT indrelid, indkey, generate_subscripts(indkey, 1) idx
      FROM pg_index WHERE indrelid = %s::regclass AND indisprimary) i
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[i.idx]
ORDER BY i.idx
"""
RAILS_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), pg_get_expr(d.adbin, d.adrelid),
       a.attnotnull, a.atttypid, a.atttypmod, c.collname,
       col_description(a.attrelid, a.attnum) AS comment, attidentity AS identity,
       attgenerated as attgenerated
FROM pg_attribute a
LEFT JOIN pg_attrdef d ON a.attrelid = d.adrelid AND a.attnum = d.adnum
LEFT JOIN pg_type t ON a.atttypid = t.oid
LEFT JOIN pg_collation c ON a.attcollation = c.oid AND a.attcollation <> t.typcollation
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""


SAMPLE = 500  # tables a per-table peer really queries; its time is scaled to all of them


def _fetch(conn: Any, query: str, into: list[Any]) -> Callable[[], None]:
    def work() -> None:
        with conn.cursor() as cur:
            cur.execute(query)
            into[:] = cur.fetchall()

    return work


def _per_table(*queries: str) -> Callable[[Any], Cost]:
    """The table list, then the per-table queries on an even sample, scaled to every table.

    Each table costs the same round trips, so the sample's cost per table times
    the number of tables is the whole walk (which takes minutes at 20,000 tables).
    """

    def run(conn: Any) -> Cost:
        tables: list[Any] = []
        listing = measured(conn, _fetch(conn, RAILS_TABLES, tables))
        sample = tables[:: max(1, len(tables) // SAMPLE)]
        names = [
            sql.SQL("{}.{}").format(sql.Identifier(s), sql.Identifier(t)).as_string(conn)
            for s, t in sample
        ]

        def walk() -> None:
            with conn.cursor() as cur:
                for name in names:
                    for query in queries:
                        cur.execute(query, (name,))
                        cur.fetchall()

        walked = measured(conn, walk)
        return listing + walked.scaled(len(tables) / max(len(sample), 1))

    return run


# pg-extras missing_fk_indexes (missing_fk_indexes.rb): every table's size, every index
# with its definition, then each table's columns from information_schema.
PGEXTRAS_TABLE_SIZE = r"""
SELECT c.relname AS name, pg_size_pretty(pg_table_size(c.oid)) AS size, n.nspname as schema
FROM pg_class c LEFT JOIN pg_namespace n ON (n.oid = c.relnamespace)
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
  AND c.relkind IN ('r', 'm')
ORDER BY pg_table_size(c.oid) DESC
"""
PGEXTRAS_INDEXES = """
SELECT schemaname, indexname, tablename, rtrim(split_part(indexdef, '(', 2), ')') as columns
FROM pg_indexes where tablename in (select relname from pg_statio_user_tables)
"""
PGEXTRAS_TABLE_SCHEMA = """
SELECT column_name, data_type, is_nullable, column_default
FROM information_schema.columns WHERE table_name = %s
"""


def _pgextras_missing_fk_indexes(conn: Any) -> Cost:
    sizes: list[Any] = []
    listing = measured(conn, _fetch(conn, PGEXTRAS_TABLE_SIZE, sizes))
    listing += measured(conn, _fetch(conn, PGEXTRAS_INDEXES, []))
    sample = [row[0] for row in sizes][:: max(1, len(sizes) // SAMPLE)]

    def walk() -> None:
        with conn.cursor() as cur:
            for table in sample:
                cur.execute(PGEXTRAS_TABLE_SCHEMA, (table,))
                cur.fetchall()

    walked = measured(conn, walk)
    return listing + walked.scaled(len(sizes) / max(len(sample), 1))


PEERS: dict[str, Peer] = {
    "AU101": Peer("pg-extras missing_fk_indexes", _pgextras_missing_fk_indexes),
    "AU102": Peer("PgHero missing_indexes", _query(PGHERO_MISSING_INDEXES)),
    "AU104": Peer("PgHero unused_indexes", _query(PGHERO_UNUSED_INDEXES)),
    "AU105": Peer("pg-extras duplicate_indexes", _query(PGEXTRAS_DUPLICATE_INDEXES)),
    "AU106": Peer("PgHero duplicate_indexes", _query(PGHERO_INDEXES)),
    "AU108": Peer("PgHero invalid_indexes", _query(PGHERO_INDEXES)),
    "AU109": Peer("PgHero index_bloat", _query(PGHERO_INDEX_BLOAT)),
    "AU110": Peer("pg-extras bloat", _query(PGEXTRAS_BLOAT)),
    "AU201": Peer(
        "active_record_doctor table_without_primary_key",
        _per_table(RAILS_PRIMARY_KEYS, RAILS_COLUMNS),
    ),
    "AU202": Peer("PgHero sequences", _pghero_sequences),
    "AU203": Peer("PgHero invalid_constraints", _query(PGHERO_INVALID_CONSTRAINTS)),
    "AU205": Peer(
        "active_record_doctor postgres_timestamps_without_time_zone",
        _per_table(RAILS_COLUMNS),
    ),
    "AU402": Peer("pg-extras vacuum_stats", _query(PGEXTRAS_VACUUM_STATS)),
    "AU403": Peer("PgHero transaction_id_danger", _query(PGHERO_XID_DANGER)),
}
