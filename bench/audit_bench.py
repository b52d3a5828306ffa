"""How long a full ``schemaops audit`` takes on a big schema: 2,000 tables, 10,000 indexes.

    .venv/bin/python bench/audit_bench.py                  # 2,000 tables, 3 audit runs
    .venv/bin/python bench/audit_bench.py --tables 200     # smaller, for a smoke run
    .venv/bin/python bench/audit_bench.py --keep           # keep the database afterwards

Builds the schema in a scratch database on the local server (PGHOST etc.,
default 127.0.0.1:5432 as postgres) with one ``DO`` block per 100 tables (a
single transaction for all of them would overflow the lock table). Every
table has a bigserial primary key, a foreign key to the previous table (half
of them unindexed), a json and a timestamp column, and four more indexes, one
of them a redundant prefix: 5 indexes per table. Then it times the full
audit (every check that needs no Django models) in-process, prints each
check's time, and, side by side, the time of the PgHero queries that answer
the same questions on the same database (their SQL as in PgHero's
``methods/indexes.rb``: the index listing behind ``duplicate_indexes`` and
``unused_indexes`` with ``pg_relation_size``). Drops the database at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from typing import Any

import psycopg2
from psycopg2 import sql

PARAMS: dict[str, Any] = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER", "postgres"),
}
BATCH = 100

DDL = """
DO $$
BEGIN
  FOR i IN {first}..{last} LOOP
    EXECUTE format(
      'CREATE TABLE t%s (id bigserial PRIMARY KEY, parent_id bigint %s, a int, b int,
                         c varchar(40), d timestamp, e json)',
      i, CASE WHEN i > 1 THEN format('REFERENCES t%s', i - 1) ELSE '' END);
    EXECUTE format('CREATE INDEX ON t%s (a)', i);
    EXECUTE format('CREATE INDEX ON t%s (a, b)', i);
    EXECUTE format('CREATE INDEX ON t%s (c)', i);
    IF i % 2 = 0 THEN
      EXECUTE format('CREATE INDEX ON t%s (parent_id)', i);
    ELSE
      EXECUTE format('CREATE INDEX ON t%s (d)', i);
    END IF;
  END LOOP;
END $$
"""

# PgHero methods/indexes.rb, the listing duplicate_indexes works from.
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
# PgHero methods/indexes.rb unused_indexes (max_scans 50, as its default).
PGHERO_UNUSED = """
SELECT schemaname AS schema, relname AS table, indexrelname AS index,
  pg_relation_size(i.indexrelid) AS size_bytes, idx_scan AS index_scans
FROM pg_stat_user_indexes ui
INNER JOIN pg_index i ON ui.indexrelid = i.indexrelid
WHERE NOT indisunique AND idx_scan <= 50
ORDER BY pg_relation_size(i.indexrelid) DESC, relname ASC
"""


def admin() -> Any:
    conn = psycopg2.connect(dbname="postgres", **PARAMS)
    conn.autocommit = True
    return conn


def build(dbname: str, tables: int) -> float:
    conn = admin()
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    conn.close()
    started = time.perf_counter()
    conn = psycopg2.connect(dbname=dbname, **PARAMS)
    conn.autocommit = True
    with conn.cursor() as cur:
        for first in range(1, tables + 1, BATCH):
            cur.execute(DDL.format(first=first, last=min(first + BATCH - 1, tables)))
        cur.execute("ANALYZE")
        cur.execute("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")
        print(f"built {tables:,} tables, {cur.fetchone()[0]:,} indexes", end=" ")
    conn.close()
    return time.perf_counter() - started


def time_audit(dbname: str) -> tuple[float, Any]:
    from schemaops.audit.runner import run_audit, select

    started = time.perf_counter()
    result = run_audit({**PARAMS, "dbname": dbname}, select([]), machine={"ram_kb": 8 << 20})
    return time.perf_counter() - started, result


def time_query(dbname: str, query: str) -> float:
    conn = psycopg2.connect(dbname=dbname, **PARAMS)
    try:
        with conn.cursor() as cur:
            started = time.perf_counter()
            cur.execute(query)
            cur.fetchall()
            return time.perf_counter() - started
    finally:
        conn.close()


def report(dbname: str, runs: int) -> None:
    times, result = [], None
    for _ in range(runs):
        elapsed, result = time_audit(dbname)
        times.append(elapsed)
    assert result is not None
    print(
        f"\nfull audit (no models), {runs} runs: median {statistics.median(times):.2f} s "
        f"(min {min(times):.2f} s, max {max(times):.2f} s)"
    )
    print(
        f"findings: {len(result.findings):,}; skipped: {', '.join(result.skipped) or '-'}; "
        f"failed: {', '.join(result.failed) or '-'}"
    )
    by_code: dict[str, int] = {}
    for f in result.findings:
        by_code[f.code] = by_code.get(f.code, 0) + 1
    print("\ncheck   seconds  findings")
    for code, seconds in result.timings.items():
        print(f"{code}   {seconds:7.3f}  {by_code.get(code, 0):8,}")
    print("\nside by side (same database, one query each):")
    ours_index = result.timings.get("AU105", 0.0) + result.timings.get("AU106", 0.0)
    print(
        f"  PgHero index listing (duplicate_indexes input): "
        f"{time_query(dbname, PGHERO_INDEXES):.3f} s  | schemaops AU105+AU106 (listing "
        f"shared, comparison included): {ours_index:.3f} s"
    )
    print(
        f"  PgHero unused_indexes (pg_relation_size): "
        f"{time_query(dbname, PGHERO_UNUSED):.3f} s  | schemaops AU104: "
        f"{result.timings.get('AU104', 0.0):.3f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    dbname = f"schemaops_auditbench_{uuid.uuid4().hex[:8]}"
    try:
        seconds = build(dbname, args.tables)
        print(f"in {seconds:.1f} s (database {dbname})")
        report(dbname, args.runs)
    finally:
        if not args.keep:
            conn = admin()
            with conn.cursor() as cur:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))
            conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
