"""End to end on the demo shop: ``schemaops trace`` and ``migrate --phase pre`` from the CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import psycopg2
from support import SAMPLE, run_cli, shop_env
from trace_support import database_exists, scratch_name


def _statements(report, app, name):
    migration = next(m for m in report["migrations"] if (m["app"], m["migration"]) == (app, name))
    return migration, migration["statements"]


def _modes(stmt, relation):
    return {lk["mode"] for lk in stmt["locks"] if lk["relation"] == relation}


def test_trace_demo_shop_json(scratch_db):
    run = run_cli(
        "trace",
        "--app",
        "orders",
        "--app",
        "products",
        "--rows",
        "300",
        "--format",
        "json",
        env=shop_env(scratch_db),
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["rows"] == 300 and report["notes"] == []
    _, stmts = _statements(report, "products", "0002_product_category")
    index = next(s for s in stmts if s["operation"] == 1)
    assert _modes(index, "products_product") == {"ShareLock"}
    assert index["locks"][0]["blocks"].startswith("writes")
    _, stmts = _statements(report, "orders", "0006_order_customer_created_idx")
    assert stmts[0]["sampled"] and "ShareUpdateExclusiveLock" in _modes(stmts[0], "orders_order")
    _, stmts = _statements(report, "orders", "0002_order_status")
    assert _modes(stmts[0], "orders_order") == {"AccessExclusiveLock"}
    assert stmts[0]["rewrites"] == []
    assert stmts[1]["columns"] == ["orders_order.status: DROP DEFAULT"]
    assert not database_exists(scratch_name(run.stderr))


def test_trace_markdown_is_a_table(scratch_db):
    run = run_cli(
        "trace", "products", "0002", "--format", "markdown", "-q", env=shop_env(scratch_db)
    )
    assert run.returncode == 0, run.stderr
    assert "| op | statement | locks | rewrite | ms |" in run.stdout
    assert "SHARE on table products_product: blocks writes" in run.stdout
    assert run.stderr == ""


def test_trace_drops_the_scratch_database_on_sigterm(scratch_db):
    proc = subprocess.Popen(
        [sys.executable, "-m", "schemaops", "trace", "--app", "orders", "--rows", "1000000"],
        cwd=SAMPLE,
        env={**_env(), **shop_env(scratch_db)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "seeding" in line:
            break
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM  # the handler dropped, then exited
    assert not database_exists(scratch_name("".join(lines)))


def test_migrate_phase_pre_on_the_demo_shop(scratch_db):
    refused = run_cli("migrate", "--phase", "pre", env=shop_env(scratch_db))
    assert refused.returncode == 1
    assert "refusing to apply orders.0002_order_status" in refused.stderr
    assert _tables(scratch_db) == set()  # refused before touching anything
    allowed = [
        f"--allow={m}"
        for m in (
            "orders.0002_order_status",
            "orders.0005_remove_order_legacy_ref",
            "products.0002_product_category",
        )
    ]
    run = run_cli("migrate", "--phase", "pre", *allowed, env=shop_env(scratch_db))
    assert run.returncode == 0, run.stderr
    assert "✓ orders.0006_order_customer_created_idx" in run.stderr
    assert "SHARE UPDATE EXCLUSIVE on orders_order" in run.stderr
    assert "schemaops migrate: applied" in run.stdout
    again = run_cli("trace", env=shop_env(scratch_db))
    assert again.returncode == 0 and "nothing to trace" in again.stderr


def test_migrate_plan_reads_but_never_writes(scratch_db):
    run = run_cli("migrate", "--plan", env=shop_env(scratch_db))
    assert run.returncode == 0, run.stderr
    assert "orders.0002_order_status" in run.stdout and "REFUSED" in run.stdout
    assert "SO107" in run.stdout
    assert _tables(scratch_db) == set()


def _tables(params):
    conn = psycopg2.connect(**params)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            return {name for (name,) in cur.fetchall()}
    finally:
        conn.close()


def _env():
    import os

    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env
