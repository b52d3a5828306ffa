"""The backfill runs' admin pages against Django's plain admin of the same table.

    .venv/bin/python bench/admin_bench.py                    # 1,000 runs, 100,000 batches
    .venv/bin/python bench/admin_bench.py --runs 200 --batches 20000 --repeat 10   # quick

On a database of its own (the demo shop's, migrated; created, then dropped) it
writes ``--runs`` runs in mixed states and ``--batches`` batches spread over them,
then times, in this process through Django's test client (server time: URL
routing, middleware, the view, its queries and the template, no network):
1. the runs' list page (100 runs a page: progress bars, rows, rate, ETA, throttle);
2. the same list filtered to active runs;
3. the JSON feed the list page polls, for the page's 100 runs;
4. one run's detail page (chart from its batches, failed batches, settings);
5. the reference: Django's own admin changelist of the same model with the default
   ``ModelAdmin`` (one ``__str__`` column, no status), on the same data.
Requests are interleaved, ``--repeat`` of each after a warm-up; it prints the median
and 95th percentile in ms, the SQL queries of one request, and each page's median
as a ratio to the reference. The target: the list page under 300 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
import uuid
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from _pg import PG  # noqa: E402
from _pg import connect as admin_connection  # noqa: E402

RUNS_SQL = """
INSERT INTO schemaops_backfill_run (key, target, kind, db_table, pk_column, assignments, "where",
    state, lo, hi, next_lo, rows_estimate, batch_size, min_batch_size, max_batch_size,
    target_seconds, pause_seconds, lock_timeout_ms, statement_timeout_ms, max_rows_per_second,
    lease_seconds, concurrency, parts, options, avg_rows, avg_seconds, throttle_state,
    throttle_reason, last_error, created_at, started_at, updated_at)
SELECT md5(g::text), 'orders.Order', 'sql', 'orders_order', 'id',
    '[["total_cents", "(total * 100)::bigint"]]', '',
    (ARRAY['active', 'paused', 'finished', 'failed', 'cancelled'])[1 + g %% 5], 1, %(keys)s,
    %(keys)s, %(keys)s, 1000, 100, 100000, 0.1, 0, 100, 240, 0, 120, 1, 1, '{}', 0, 0,
    CASE WHEN g %% 7 = 0 THEN 'held' ELSE 'normal' END,
    CASE WHEN g %% 7 = 0 THEN 'replica lag 40 s' ELSE '' END, '',
    now(), now() - interval '1 hour', now()
FROM generate_series(1, %(runs)s) g
"""
BATCHES_SQL = """
INSERT INTO schemaops_backfill_batch (run_id, lo, hi, part, state, attempts, timeouts, rows,
    duration, waiters, worker, last_error, started_at, finished_at)
SELECT r.id, 1 + b * 1000, 1 + (b + 1) * 1000, 0,
    (ARRAY['done', 'done', 'done', 'done', 'done', 'done', 'done', 'pending', 'running',
           'failed'])[1 + b %% 10],
    1, 0, 1000, 0.02 + (b %% 13) / 100.0, 0, '', CASE WHEN b %% 10 = 9 THEN 'deadlock' ELSE '' END,
    now() - interval '1 hour' + b * interval '1 second',
    now() - interval '1 hour' + b * interval '1 second'
FROM schemaops_backfill_run r, generate_series(0, %(per_run)s - 1) b
"""


def set_up(name: str, runs: int, batches: int) -> None:
    """Create and migrate the database, write the runs and batches, add a superuser."""
    conn = admin_connection()
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    os.environ["SHOP_DB_NAME"] = name
    os.environ["DJANGO_SETTINGS_MODULE"] = "shop.settings"
    sys.path.insert(0, str(ROOT / "sample_project"))
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    conn = psycopg2.connect(**PG, dbname=name)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(RUNS_SQL, {"runs": runs, "keys": batches // runs * 1000})
        cur.execute(BATCHES_SQL, {"per_run": batches // runs})
        cur.execute("ANALYZE")
    conn.close()
    from django.contrib.auth.models import User

    User.objects.create_superuser("bench", "bench@example.com", "bench")


def drop(name: str) -> None:
    from django.conf import settings
    from django.db import connections

    if settings.configured:
        connections.close_all()
    conn = admin_connection()
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    conn.close()


def urlconf() -> types.ModuleType:
    """The project's admin plus the reference: a default ModelAdmin of Run on its own site."""
    from django.contrib import admin
    from django.urls import path

    from schemaops.backfill.models import Run

    plain = admin.AdminSite(name="plain")
    plain.register(Run)
    module = types.ModuleType("admin_bench_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("admin/", admin.site.urls),
        path("plain/", plain.urls),
    ]
    return module


def pages() -> dict[str, str]:
    from schemaops.backfill.models import Run

    ids = list(Run.objects.order_by("-id").values_list("id", flat=True)[:100])
    feed = "&".join(f"id={i}" for i in ids)
    runs = "/admin/schemaops_backfill/run/"
    return {
        "list page (100 of the runs)": runs,
        "list, state=active": f"{runs}?state__exact=active",
        "JSON feed, 100 runs": f"{runs}progress.json?{feed}",
        "detail page of one run": f"{runs}{ids[0]}/change/",
        "reference: default ModelAdmin": "/plain/schemaops_backfill/run/",
    }


def measure(client: Any, urls: dict[str, str], repeat: int) -> dict[str, list[float]]:
    for url in urls.values():  # warm-up: imports, template loading, plans
        for _ in range(3):
            assert client.get(url).status_code == 200, url
    times: dict[str, list[float]] = {label: [] for label in urls}
    for _ in range(repeat):
        for label, url in urls.items():
            start = time.perf_counter()
            response = client.get(url)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
            times[label].append(time.perf_counter() - start)
    return times


def queries(client: Any, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured)


def report(times: dict[str, list[float]], counts: dict[str, int], runs: int, batches: int) -> None:
    reference = statistics.median(times["reference: default ModelAdmin"])
    print(f"backfill admin, {runs:,} runs, {batches:,} batches (server time in this process)")
    print(f"{'page':34} {'median':>9} {'p95':>9} {'queries':>8} {'x reference':>12}")
    for label, values in times.items():
        ordered = sorted(values)
        median = statistics.median(ordered)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        print(
            f"{label:34} {median * 1000:7.1f}ms {p95 * 1000:7.1f}ms {counts[label]:8d} "
            f"{median / reference:11.2f}x"
        )
    target = statistics.median(times["list page (100 of the runs)"]) * 1000
    verdict = "met" if target < 300 else "MISSED"
    print(f"list page: {target:.0f} ms median, target < 300 ms: {verdict}")


def compile_schemaops() -> None:
    """Bytecode for schemaops' own modules, as ``pip install`` leaves it."""
    import compileall
    import importlib.util

    for name in ("schemaops", "schemaops.backfill"):
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(folder, quiet=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--batches", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    compile_schemaops()
    name = f"schemaops_admin_bench_{uuid.uuid4().hex[:8]}"
    try:
        set_up(name, args.runs, args.batches)
        from django.test import Client, override_settings

        with override_settings(ROOT_URLCONF=urlconf(), DEBUG=False):
            from django.contrib.auth.models import User

            client = Client()
            client.force_login(User.objects.get(username="bench"))
            urls = pages()
            times = measure(client, urls, args.repeat)
            counts = {label: queries(client, url) for label, url in urls.items()}
        report(times, counts, args.runs, args.batches)
    finally:
        drop(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
