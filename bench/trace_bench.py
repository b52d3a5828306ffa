"""What ``schemaops trace`` costs per statement: the same ALTERs run plainly and traced.

    .venv/bin/python bench/trace_bench.py                    # 200 statements, 50 other tables
    .venv/bin/python bench/trace_bench.py --tables 2000      # a bigger catalog to snapshot

On a database of its own on the local server (PGHOST etc., default
127.0.0.1:5432 as postgres; created, then dropped): ``--statements`` times
``ALTER TABLE t ADD COLUMN`` in one transaction, once through Django plainly
and once with schemaops' StatementRecorder installed (pg_locks before and
after each statement, a catalog snapshot after it), and prints both and the
overhead per statement. The snapshot reads every user table's columns and
constraints, so the overhead grows with the catalog (``--tables``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
PG = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER", "postgres"),
    "dbname": "postgres",
}


def admin(statement: sql.Composable) -> None:
    conn = psycopg2.connect(**PG)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def setup(params: dict[str, str], tables: int) -> None:
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
        for i in range(tables):
            cur.execute(
                sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, a int, b text)").format(
                    sql.Identifier(f"other_{i}")
                )
            )
    conn.close()


def run(params: dict[str, str], statements: list[str], traced: bool) -> float:
    from django.db import transaction

    from schemaops.trace.runner import pointed_at
    from schemaops.trace.tracer import StatementRecorder

    with pointed_at("default", params) as conn:
        recorder = StatementRecorder(conn, params)
        recorder.start()
        started = time.perf_counter()
        wrapper = conn.execute_wrapper(recorder) if traced else _nothing()
        with wrapper, transaction.atomic(), conn.cursor() as cur:
            for stmt in statements:
                cur.execute(stmt)
            transaction.set_rollback(True)
        elapsed = time.perf_counter() - started
        if traced:
            assert len(recorder.statements) == len(statements)
        return elapsed


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=200)
    parser.add_argument("--tables", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    sys.path.insert(0, str(ROOT / "sample_project"))
    import django

    django.setup()
    name = f"schemaops_bench_{uuid.uuid4().hex[:8]}"
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = {**PG, "dbname": name}
    try:
        setup(params, args.tables)
        statements = [f"ALTER TABLE t ADD COLUMN c{i} int" for i in range(args.statements)]
        plain = run(params, statements, traced=False)
        traced = run(params, statements, traced=True)
        per = (traced - plain) / len(statements) * 1000
        print(
            f"{len(statements)} statements, {args.tables + 1} tables: plain {plain * 1000:.0f} ms, "
            f"traced {traced * 1000:.0f} ms ({traced / plain:.1f}x), {per:.2f} ms per statement"
        )
    finally:
        from django.db import connections

        connections.close_all()
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
