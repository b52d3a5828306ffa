"""Take a statistics snapshot of a live database, read-only.

The snapshot holds what the cost model needs and nothing more: the server
version, the settings that decide how fast PostgreSQL builds and scans, and
per table and index its estimated rows, sizes, write rates, scan counts and
last vacuum/analyze. No row data, no query texts, no role or host names.
Its shape is ``schemaops/stats/stats.schema.json`` (see docs/stats.md).

Every query runs in one ``READ ONLY`` ``REPEATABLE READ`` transaction, so the
numbers are consistent with each other and the transaction never gets a
transaction id (nothing is written, no WAL). Everything read is visible to a
role holding only ``pg_read_all_stats``: the ``pg_stat_*`` views, ``pg_class``,
``pg_settings`` and the ``pg_*_size`` functions, which check no privilege.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemaops.errors import ConfigError

FORMAT = "schemaops-stats"
VERSION = 1

SETTINGS = (
    "maintenance_work_mem",
    "max_parallel_maintenance_workers",
    "max_parallel_workers",
    "max_worker_processes",
    "work_mem",
    "shared_buffers",
    "effective_io_concurrency",
    "wal_level",
    "full_page_writes",
    "synchronous_commit",
    "min_parallel_table_scan_size",
    "block_size",
)

SERVER_SQL = """
SELECT current_setting('server_version'), current_setting('server_version_num')::int,
       current_database(), now(),
       coalesce(d.stats_reset, pg_postmaster_start_time()),
       extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time()))
FROM pg_stat_database d WHERE d.datname = current_database()
"""

SETTINGS_SQL = "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s) ORDER BY name"

TABLES_SQL = """
SELECT c.oid, n.nspname, c.relname, c.relkind::text, c.reltuples::bigint, c.relpages,
       pg_relation_size(c.oid),
       coalesce(pg_total_relation_size(NULLIF(c.reltoastrelid, 0)), 0),
       pg_indexes_size(c.oid),
       s.seq_scan, s.idx_scan, s.n_tup_ins, s.n_tup_upd, s.n_tup_del, s.n_live_tup,
       s.n_dead_tup, s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY n.nspname, c.relname
"""

INDEXES_SQL = """
SELECT i.indrelid, c.relname, am.amname, i.indisunique, i.indisprimary, i.indisvalid,
       i.indnatts, c.reltuples::bigint, pg_relation_size(c.oid), s.idx_scan
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_stat_all_indexes s ON s.indexrelid = i.indexrelid
WHERE t.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'
ORDER BY c.relname
"""


def take_snapshot(conn: Any, *, timeout: str = "30s") -> dict[str, Any]:
    """The snapshot of the database ``conn`` is connected to, as a JSON-ready dict.

    ``conn`` is a psycopg2 connection; the snapshot runs in a transaction of
    its own (rolled back at the end) with ``statement_timeout`` and
    ``lock_timeout`` set to ``timeout`` for that transaction only.
    """
    import psycopg2

    conn.set_session(isolation_level="REPEATABLE READ", readonly=True, autocommit=False)
    try:
        with conn.cursor() as cur:
            _begin(cur, timeout)
            snapshot = _server(cur)
            cur.execute(SETTINGS_SQL, (list(SETTINGS),))
            snapshot["settings"] = {
                name: {"setting": value, "unit": unit} for name, value, unit in cur.fetchall()
            }
            seconds = snapshot.pop("_seconds")
            snapshot["tables"] = _tables(cur, seconds)
    except psycopg2.errors.InvalidParameterValue as exc:
        raise ConfigError(f"invalid --timeout {timeout!r}: {_first_line(exc)}") from None
    finally:
        conn.rollback()
    return snapshot


def _begin(cur: Any, timeout: str) -> None:
    for name in ("statement_timeout", "lock_timeout"):
        cur.execute("SELECT set_config(%s, %s, true)", (name, timeout))
    # the size functions in per-row expressions push big catalogs past jit_above_cost
    cur.execute("SELECT set_config('jit', 'off', true)")


def _server(cur: Any) -> dict[str, Any]:
    cur.execute(SERVER_SQL)
    version, version_num, dbname, now, since, seconds = cur.fetchone()
    return {
        "format": FORMAT,
        "version": VERSION,
        "taken_at": _iso(now),
        "database": dbname,
        "server_version": version,
        "server_version_num": version_num,
        "stats_since": _iso(since),
        "_seconds": max(float(seconds or 0.0), 1.0),
    }


def _tables(cur: Any, seconds: float) -> list[dict[str, Any]]:
    cur.execute(TABLES_SQL)
    tables: dict[int, dict[str, Any]] = {}
    for row in cur.fetchall():
        tables[row[0]] = _table(row, seconds)
    cur.execute(INDEXES_SQL)
    for relid, name, method, unique, primary, valid, columns, rows, size, scans in cur.fetchall():
        table = tables.get(relid)
        if table is not None:
            table["indexes"].append(
                {
                    "name": name,
                    "method": method,
                    "unique": unique,
                    "primary": primary,
                    "valid": valid,
                    "columns": columns,
                    "rows": max(int(rows), 0),
                    "bytes": size,
                    "idx_scan": scans,
                }
            )
    return list(tables.values())


def _table(row: tuple[Any, ...], seconds: float) -> dict[str, Any]:
    (_, schema, name, kind, reltuples, pages, heap, toast, indexes) = row[:9]
    seq_scan, idx_scan, ins, upd, dele, live, dead = row[9:16]
    return {
        "schema": schema,
        "name": name,
        "kind": {"r": "table", "p": "partitioned", "m": "materialized view"}[kind],
        # reltuples is -1 for a table never vacuumed or analyzed: fall back on the live count
        "rows": int(reltuples) if reltuples >= 0 else int(live or 0),
        "rows_source": "reltuples" if reltuples >= 0 else "n_live_tup",
        "pages": pages,
        "heap_bytes": heap,
        "toast_bytes": toast,
        "indexes_bytes": indexes,
        "dead_rows": dead,
        "seq_scan": seq_scan,
        "idx_scan": idx_scan,
        "inserts_per_s": _rate(ins, seconds),
        "updates_per_s": _rate(upd, seconds),
        "deletes_per_s": _rate(dele, seconds),
        "last_vacuum": _iso(_latest(row[16], row[17])),
        "last_analyze": _iso(_latest(row[18], row[19])),
        "indexes": [],
    }


def _rate(count: int | None, seconds: float) -> float | None:
    return None if count is None else round(count / seconds, 4)


def _latest(*moments: dt.datetime | None) -> dt.datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or ["database error"])[0]


def load_snapshot(path: str) -> dict[str, Any]:
    """Read a snapshot file; ConfigError (exit 2) when it is missing or not one of ours."""
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"cannot read stats snapshot {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"stats snapshot {path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"{path} is not a schemaops stats snapshot (run `schemaops stats`)")
    if data.get("version") != VERSION:
        raise ConfigError(
            f"{path} is a version {data.get('version')!r} snapshot; this schemaops reads "
            f"version {VERSION} (take a new one with `schemaops stats`)"
        )
    if not isinstance(data.get("tables"), list):
        raise ConfigError(f"stats snapshot {path} has no list of tables")
    return data
