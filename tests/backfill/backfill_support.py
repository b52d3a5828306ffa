"""Helpers for the backfill tests (imported as backfill_support): shop copies, workers."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_project"
PG: dict[str, Any] = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER", "postgres"),
}
REDIS_URL = os.environ.get("SCHEMAOPS_TEST_REDIS", "redis://127.0.0.1:6379/0")
SET_CENTS = "total_cents = (total * 100)::bigint"


def admin() -> Any:
    conn = psycopg2.connect(**PG, dbname="postgres")
    conn.autocommit = True
    return conn


@dataclass
class ShopCopy:
    """A database of the test's own, migrated like the demo shop."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    pg: dict[str, Any] = field(default_factory=lambda: dict(PG))  # the server it lives on

    def connect(self) -> Any:
        conn = psycopg2.connect(**self.pg, dbname=self.name)
        conn.autocommit = True
        return conn

    def query(self, text: str, params: Any = None) -> list[tuple[Any, ...]]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(text, params if params is not None else ())
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def seed(self, orders: int) -> None:
        """``orders`` rows with a total and a NULL total_cents (ids have gaps every 10)."""
        self.query(
            "INSERT INTO customers_customer (email, name, created_at) "
            "VALUES ('a@example.com', 'A', now())"
        )
        self.query(
            "INSERT INTO orders_order (customer_id, created_at, status, total, note) "
            "SELECT (SELECT min(id) FROM customers_customer), now(), 'new', "
            "((g * 7919) %% 100000) / 100.0, '' FROM generate_series(1, %s) g",
            [orders + orders // 10],
        )
        self.query("DELETE FROM orders_order WHERE id %% 11 = 0")
        self.query("ANALYZE orders_order")

    def wrong_rows(self) -> int:
        return int(
            self.query(
                "SELECT count(*) FROM orders_order "
                "WHERE total_cents IS DISTINCT FROM (total * 100)::bigint"
            )[0][0]
        )

    def cli(self, *args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
        full = {**os.environ, **self.env, **env}
        full.pop("DJANGO_SETTINGS_MODULE", None)
        return subprocess.run(
            [sys.executable, "-m", "schemaops", "backfill", *args],
            cwd=SAMPLE,
            env=full,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """The CLI in the background (stdout and stderr to pipes)."""
        full = {**os.environ, **self.env, **env}
        full.pop("DJANGO_SETTINGS_MODULE", None)
        return subprocess.Popen(
            [sys.executable, "-m", "schemaops", "backfill", *args],
            cwd=SAMPLE,
            env=full,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def done_batches(self) -> int:
        return int(
            self.query("SELECT count(*) FROM schemaops_backfill_batch WHERE state = 'done'")[0][0]
        )

    def run_state(self) -> str:
        rows = self.query("SELECT state FROM schemaops_backfill_run ORDER BY id DESC LIMIT 1")
        return str(rows[0][0]) if rows else ""

    def inconsistent_rows(self) -> int:
        """Rows whose state disagrees with their batch: set outside a done range, or not set
        inside one. Zero means every batch was applied fully or not at all."""
        return int(
            self.query(
                "SELECT count(*) FROM orders_order o WHERE (o.total_cents IS NOT NULL) <> EXISTS ("
                " SELECT 1 FROM schemaops_backfill_batch b"
                " JOIN schemaops_backfill_run r ON r.id = b.run_id WHERE b.state = 'done'"
                " AND o.id >= b.lo AND o.id < b.hi AND o.id %% r.parts = b.part)"
            )[0][0]
        )


def assert_exactly_once(shop: ShopCopy, run_id: int, changed: int) -> None:
    """Within each part, done ranges never overlap and cover the key space, every part
    covers the same keys, and the rows of all of them add up to ``changed``."""
    rows = shop.query(
        "SELECT part, lo, hi, rows FROM schemaops_backfill_batch"
        " WHERE run_id = %s AND state = 'done' ORDER BY part, lo",
        [run_id],
    )
    spans = {}
    for part in {p for p, _, _, _ in rows}:
        ranges = [(lo, hi) for p, lo, hi, _ in rows if p == part]
        for (_, hi), (lo, _) in itertools.pairwise(ranges):
            assert hi == lo, f"part {part}: done batches overlap or leave a gap at {hi}..{lo}"
        spans[part] = (ranges[0][0], ranges[-1][1])
    assert len(set(spans.values())) <= 1, f"parts cover different keys: {spans}"
    assert sum(r for _, _, _, r in rows) == changed


class Worker:
    """A real ``celery worker`` process on a queue of the test's own."""

    def __init__(
        self, shop: ShopCopy, queue: str, concurrency: int = 2, broker: str = REDIS_URL
    ) -> None:
        self.shop, self.queue, self.concurrency, self.broker = shop, queue, concurrency, broker
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        env = {**os.environ, **self.shop.env, "CELERY_BROKER_URL": self.broker}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        log = open(self.log_path, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "shop",
                "worker",
                "-Q",
                self.queue,
                "-c",
                str(self.concurrency),
                "-n",
                f"{self.queue}-{self.starts}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
            ],
            cwd=SAMPLE,
            env=env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )

    @property
    def log_path(self) -> Path:
        return Path(os.environ.get("TMPDIR", "/tmp")) / f"{self.queue}.log"

    def pool(self) -> list[int]:
        """The pids of the worker's pool processes (its children)."""
        if self.proc is None:
            return []
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in out.stdout.split()]

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, mid-batch."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(predicate: Any, timeout: float = 120, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def _django_driver_is_psycopg3() -> bool:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


def driver_connect(shop: ShopCopy) -> Any:
    """An autocommit connection of the driver Django uses (psycopg2 or psycopg 3), for
    tests that drive the engine's internals directly: they compose SQL for that driver."""
    if not _django_driver_is_psycopg3():
        return shop.connect()
    import psycopg

    # Django's psycopg 3 backend binds parameters client-side too (several statements
    # with parameters in one execute, as the ledger sends them).
    return psycopg.connect(
        **PG, dbname=shop.name, autocommit=True, cursor_factory=psycopg.ClientCursor
    )


@contextmanager
def transaction(conn: Any) -> Iterator[Any]:
    """A cursor inside one transaction, committed on success, on either driver."""
    if hasattr(conn, "transaction"):  # psycopg 3
        with conn.transaction(), conn.cursor() as cur:
            yield cur
        return
    conn.autocommit = False
    try:
        with conn, conn.cursor() as cur:
            yield cur
    finally:
        conn.autocommit = True
