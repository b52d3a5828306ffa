"""Helpers for the admin tests: Django in this process on a shop copy, users, many runs,
and a real headless Chromium driven by Selenium."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from backfill_support import ShopCopy

PASSWORD = "correct horse battery staple"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1800,1000",
)


@contextmanager
def django_on(shop: ShopCopy) -> Iterator[None]:
    """Point this process's Django (and threads it starts, like the live server) at the
    shop copy, and back at the end."""
    from django.db import connections

    settings = connections.settings["default"]
    before = settings["NAME"]
    connections.close_all()
    settings["NAME"] = shop.name
    try:
        yield
    finally:
        connections.close_all()
        settings["NAME"] = before


@contextmanager
def celery_on(url: str, queue: str) -> Iterator[None]:
    """This process's Celery app sends to ``url``, and the admin to ``queue``."""
    from django.test import override_settings

    from schemaops.backfill import dispatch

    app = dispatch.celery_app()
    before = app.conf.broker_url
    app.conf.broker_url = url
    try:
        with override_settings(SCHEMAOPS_BACKFILL_QUEUE=queue):
            yield
    finally:
        # The app's connection pool stays open: closed, it could not be used again by a
        # later test in this process (kombu keeps the pool for the broker URL).
        app.conf.broker_url = before


def make_users() -> None:
    """``alice``: a superuser; ``victor``: staff who may only view runs."""
    from django.contrib.auth.models import Permission, User

    User.objects.create_superuser("alice", "alice@example.com", PASSWORD)
    victor = User.objects.create_user("victor", "victor@example.com", PASSWORD, is_staff=True)
    victor.user_permissions.add(
        Permission.objects.get(content_type__app_label="schemaops_backfill", codename="view_run")
    )


SEED_RUNS_SQL = """
INSERT INTO schemaops_backfill_run (key, target, kind, db_table, pk_column, assignments, "where",
    state, lo, hi, next_lo, rows_estimate, batch_size, min_batch_size, max_batch_size,
    target_seconds, pause_seconds, lock_timeout_ms, statement_timeout_ms, max_rows_per_second,
    lease_seconds, concurrency, parts, options, avg_rows, avg_seconds, throttle_state,
    throttle_reason, last_error, created_at, started_at, updated_at, heartbeat_at)
SELECT md5(g::text || %(salt)s), 'orders.Order', 'sql', 'orders_order', 'id',
    '[["total_cents", "total * 100"]]', '',
    (ARRAY['active', 'paused', 'finished', 'failed'])[1 + g %% 4], 1, %(keys)s, %(keys)s,
    %(keys)s, 1000, 100, 100000, 0.1, 0, 100, 240, 0, 120, 1, 1, '{}', 0, 0, 'normal', '', '',
    now(), now() - interval '1 hour', now(), now()
FROM generate_series(1, %(runs)s) g
"""
SEED_BATCHES_SQL = """
INSERT INTO schemaops_backfill_batch (run_id, lo, hi, part, state, attempts, timeouts, rows,
    duration, waiters, worker, last_error, started_at, finished_at)
SELECT r.id, 1 + b * 1000, 1 + (b + 1) * 1000, 0,
    CASE WHEN b %% 10 = 9 THEN 'pending' ELSE 'done' END, 1, 0, 1000, 0.05, 0, '', '',
    now() - interval '1 hour' + b * interval '1 second',
    now() - interval '1 hour' + b * interval '1 second'
FROM schemaops_backfill_run r, generate_series(0, %(per_run)s - 1) b
WHERE r.id IN (SELECT id FROM schemaops_backfill_run ORDER BY id DESC LIMIT %(runs)s)
"""


def seed_runs(cursor: Any, runs: int, batches_per_run: int, salt: str = "") -> None:
    """``runs`` runs of ``orders.Order`` in mixed states, each with ``batches_per_run``
    batches of 1000 keys (nine in ten done)."""
    keys = batches_per_run * 1000
    cursor.execute(SEED_RUNS_SQL, {"runs": runs, "keys": keys, "salt": salt})
    cursor.execute(SEED_BATCHES_SQL, {"runs": runs, "per_run": batches_per_run})


def chromium() -> Any:
    """A headless Chromium from Debian's packages, with a fresh profile; quit() it after."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="schemaops-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    service = Service(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.implicitly_wait(0)
    driver.schemaops_profile = profile
    return driver


def quit_chromium(driver: Any) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(driver.schemaops_profile, ignore_errors=True)
