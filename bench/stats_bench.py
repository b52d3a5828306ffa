"""The cost model of ``check --stats`` against reality, and the speed of ``schemaops stats``.

    .venv/bin/python bench/stats_bench.py                       # 10k, 100k, 1M, 5M rows
    .venv/bin/python bench/stats_bench.py --sizes 10000 100000  # a quicker look
    .venv/bin/python bench/stats_bench.py --fit                 # per-step correction factors
    .venv/bin/python bench/stats_bench.py --catalog             # stats on 2,000 tables

On a database of its own on the local server (PGHOST etc., default
127.0.0.1:5432 as postgres; created, then dropped). For each size it seeds
``bench_item_N`` (id, n, s, ref_id) and ``bench_ref_N`` with N rows each and
runs VACUUM ANALYZE; then it takes one ``schemaops stats`` snapshot and runs
each blocking statement through trace's StatementRecorder (in a transaction
that is rolled back), in rounds over every case, and prints the fastest
duration trace observed next to the model's estimate for the snapshot's
numbers. Every case must be within 2x; the exit status is 1 otherwise.

``--catalog`` creates 2,000 tables with 5 indexes each (10,000 indexes) and
times ``take_snapshot`` and the ``schemaops stats`` CLI over them, next to a
reference query that reads only the table sizes.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from _pg import SERVER as PG  # noqa: E402
from _pg import admin  # noqa: E402

SIZES = (10_000, 100_000, 1_000_000, 5_000_000)

# step -> the statement that performs it on the seeded tables of one size
CASES = {
    "index-build": "CREATE INDEX {item}_n_idx ON {item} (n)",
    "rewrite": "ALTER TABLE {item} ALTER COLUMN n TYPE bigint",
    "fk-validation": "ALTER TABLE {item} ADD CONSTRAINT {item}_ref_fk "
    "FOREIGN KEY (ref_id) REFERENCES {ref} (id)",
    "check-validation": "ALTER TABLE {item} ADD CONSTRAINT {item}_n_check CHECK (n >= 0)",
    "not-null-scan": "ALTER TABLE {item} ALTER COLUMN n SET NOT NULL",
}


def tables(size: int) -> dict[str, str]:
    return {"item": f"bench_item_{size}", "ref": f"bench_ref_{size}"}


def seed(params: dict[str, str], rows: int) -> None:
    """``bench_item_<rows>`` (id, n, s, ref_id) and ``bench_ref_<rows>``, N rows each."""
    names = {k: sql.Identifier(v) for k, v in tables(rows).items()}
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE TABLE {ref} (id bigint PRIMARY KEY)").format(**names))
        cur.execute(
            sql.SQL(
                "CREATE TABLE {item} (id bigint PRIMARY KEY, n integer, s text, ref_id bigint)"
            ).format(**names)
        )
        cur.execute(
            sql.SQL("INSERT INTO {ref} SELECT g FROM generate_series(1, %s) g").format(**names),
            (rows,),
        )
        cur.execute(
            sql.SQL(
                "INSERT INTO {item} SELECT g, g, md5(g::text), g FROM generate_series(1, %s) g"
            ).format(**names),
            (rows,),
        )
        cur.execute(sql.SQL("VACUUM ANALYZE {ref}").format(**names))
        cur.execute(sql.SQL("VACUUM ANALYZE {item}").format(**names))
    conn.close()


def snapshot(params: dict[str, str]) -> dict[str, Any]:
    from schemaops.stats.snapshot import take_snapshot

    conn = psycopg2.connect(**params)
    try:
        return take_snapshot(conn)
    finally:
        conn.close()


def observe(conn: Any, params: dict[str, str], statement: str) -> float:
    """The duration trace's StatementRecorder records for ``statement`` (ms), rolled back."""
    from django.db import transaction

    from schemaops.trace.tracer import StatementRecorder

    recorder = StatementRecorder(conn, params)
    recorder.start()
    with conn.execute_wrapper(recorder), transaction.atomic(), conn.cursor() as cur:
        cur.execute(statement)
        transaction.set_rollback(True)
    return float(recorder.statements[-1].duration_ms)


def estimate(snap: dict[str, Any], size: int, step: str) -> float:
    from schemaops.stats.estimate import table_size, with_server_memory
    from schemaops.stats.model import CostModel, Step

    item = table_size(snap, tables(size)["item"])
    ref = table_size(snap, tables(size)["ref"])
    assert item is not None and ref is not None
    model = with_server_memory(CostModel(), snap)
    return model.estimate_ms(Step(step), item, ref if step == "fk-validation" else None)


def measure(
    params: dict[str, str], sizes: list[int], repeat: int, steps: list[str]
) -> list[dict[str, Any]]:
    """Seed every size, snapshot once, then sample every case over the whole run."""
    for size in sizes:
        started = time.perf_counter()
        seed(params, size)
        print(f"# seeded {size:,} rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    snap = snapshot(params)
    best = _best_runs(params, sizes, steps, repeat)
    rows = []
    for size in sizes:
        item = next(t for t in snap["tables"] if t["name"] == tables(size)["item"])
        for step in steps:
            rows.append(
                {
                    "rows": size,
                    "step": step,
                    "heap_bytes": item["heap_bytes"],
                    "snapshot_rows": item["rows"],
                    "observed": best[size, step],
                    "estimate": estimate(snap, size, step),
                }
            )
    return rows


def _best_runs(
    params: dict[str, str], sizes: list[int], steps: list[str], repeat: int
) -> dict[tuple[int, str], float]:
    """The fastest run of each case, on one warm connection.

    Each of ``repeat`` rounds runs every case, small sizes several times (they take
    milliseconds), so the runs of a case are spread over the whole bench: a burst of
    load from other processes on a shared machine hits some runs of a case, not all.
    """
    from schemaops.trace.runner import pointed_at

    best: dict[tuple[int, str], float] = {}
    with pointed_at("default", params) as conn:
        for _ in range(repeat):
            for size in sizes:
                for _ in range(max(1, min(8, 1_000_000 // size))):
                    for step in steps:
                        ms = observe(conn, params, CASES[step].format(**tables(size)))
                        best[size, step] = min(best.get((size, step), math.inf), ms)
    return best


def print_table(rows: list[dict[str, Any]]) -> bool:
    print(f"{'rows':>10} {'step':<17} {'trace ms':>10} {'estimate ms':>12} {'ratio':>6}  ok")
    good = True
    for row in rows:
        ratio = row["estimate"] / row["observed"]
        ok = 0.5 <= ratio <= 2.0
        good &= ok
        print(
            f"{row['rows']:>10,} {row['step']:<17} {row['observed']:>10.1f} "
            f"{row['estimate']:>12.1f} {ratio:>6.2f}  {'yes' if ok else 'NO'}"
        )
    return good


def fit(rows: list[dict[str, Any]]) -> None:
    """Per step, the factor that centres the model on this run (geometric mean).

    Multiplying a step's constants by its factor gives the values to put in
    ``[tool.schemaops.stats-cost]`` for a server like the one measured.
    """
    from schemaops.stats.model import DEFAULT_COSTS, Step

    for step in sorted({r["step"] for r in rows}):
        ratios = [r["observed"] / r["estimate"] for r in rows if r["step"] == step]
        factor = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        cost = DEFAULT_COSTS[Step(step)]
        print(
            f"{step}: x{factor:.2f} -> fixed-ms = {cost.fixed_ms * factor:.1f}, "
            f"ms-per-million-rows = {cost.ms_per_million_rows * factor:.0f}, "
            f"ms-per-gib = {cost.ms_per_gib * factor:.0f}"
        )


REFERENCE_SQL = "SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables"


def catalog(params: dict[str, str], tables: int, indexes_per_table: int) -> None:
    """``stats`` on a big catalog, in process and as the CLI, next to a reference query.

    The reference is the one query a monitoring script runs for table sizes
    (``pg_total_relation_size`` over ``pg_stat_user_tables``): the snapshot reads
    more (indexes, settings, counters), so the ratio says what that costs.
    """
    import subprocess

    create_catalog(params, tables, indexes_per_table)
    reference = best_of(3, lambda: _run_query(params, REFERENCE_SQL))
    in_process = best_of(3, lambda: snapshot(params))
    dsn = "postgresql://{user}@{host}:{port}/{dbname}".format(**params)
    command = [sys.executable, "-m", "schemaops", "stats", "--dsn", dsn, "-o", os.devnull]
    cli = best_of(3, lambda: subprocess.run(command, check=True))
    snap = snapshot(params)
    count = sum(len(t["indexes"]) for t in snap["tables"])
    print(f"{len(snap['tables'])} tables, {count} indexes (target: stats under 2 s)")
    print(f"  reference (table sizes only)  {reference:.3f} s")
    print(f"  take_snapshot                 {in_process:.3f} s  ({in_process / reference:.1f}x)")
    print(f"  schemaops stats (the CLI)     {cli:.3f} s  ({cli / reference:.1f}x)")


def create_catalog(params: dict[str, str], tables: int, indexes_per_table: int) -> None:
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    with conn.cursor() as cur:
        for i in range(tables):
            name = sql.Identifier(f"cat_{i}")
            columns = ", ".join(f"c{j} int" for j in range(indexes_per_table))
            cur.execute(sql.SQL(f"CREATE TABLE {{}} (id bigint, {columns})").format(name))
            for j in range(indexes_per_table):
                cur.execute(sql.SQL(f"CREATE INDEX ON {{}} (c{j})").format(name))
        cur.execute("VACUUM ANALYZE")
    conn.close()


def _run_query(params: dict[str, str], query: str) -> None:
    conn = psycopg2.connect(**params)
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            cur.fetchall()
    finally:
        conn.close()


def best_of(times: int, work: Any) -> float:
    best = math.inf
    for _ in range(times):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--repeat", type=int, default=4, help="rounds over every case")
    parser.add_argument("--steps", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--fit", action="store_true", help="print per-step correction factors")
    parser.add_argument("--catalog", action="store_true", help="time stats on a big catalog")
    parser.add_argument("--tables", type=int, default=2000)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    sys.path.insert(0, str(ROOT / "sample_project"))
    import django

    django.setup()
    name = f"schemaops_bench_{uuid.uuid4().hex[:8]}"
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = {**PG, "dbname": name}
    good = True
    try:
        if args.catalog:
            catalog(params, args.tables, 5)
        else:
            rows = measure(params, args.sizes, args.repeat, args.steps)
            good = print_table(rows)
            if args.fit:
                fit(rows)
    finally:
        from django.db import connections

        connections.close_all()
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
