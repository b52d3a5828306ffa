"""The backfill's health signals, live: a real streaming standby held back, a real
autovacuum worker on the backfilled table.

A throwaway primary and a ``pg_basebackup -R`` standby (tests/pg_clusters.py) run for
this module only. The demo shop is migrated once into a template database on the
primary; every test backfills a copy of it with the real CLI in a subprocess
(embedded, no broker) and reads what it logs and what ``status --format json`` shows.

- Replication lag: ``pg_wal_replay_pause()`` on the standby stops replay while WAL keeps
  streaming, so ``pg_stat_replication`` shows the byte lag growing, and (with
  ``wal_receiver_status_interval = 1``, the walsender interpolating a stuck replay
  position) ``replay_lag`` growing about a second per second. Both are deterministic;
  ``pg_wal_replay_resume()`` ends the lag.
- Autovacuum: per-table settings (threshold 0, cost limit 1, cost delay 100 ms) make a
  worker start within the primary's 1 s naptime and crawl over the table for many
  seconds; ``autovacuum_enabled = off`` ends it (the ALTER's lock request cancels the
  worker after ``deadlock_timeout``), and so does dropping the copy at the end.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from backfill_support import SAMPLE, SET_CENTS, ShopCopy, wait_for
from pg_clusters import Cluster, standby_of, throwaway_cluster

from schemaops.backfill import throttle

pytestmark = pytest.mark.slow

TEMPLATE = "shop_template"
MB = 1024 * 1024
CLI = (sys.executable, "-m", "schemaops", "backfill")
# Every batch statement sleeps 50 ms once (an uncorrelated subquery runs once per statement).
# pg_sleep is volatile: the --where that names the set column makes the update acceptable.
SET_SLOWLY = f"{SET_CENTS} + (SELECT 0 FROM pg_sleep(0.05))"
ONLY_UNSET = ("--where", "total_cents IS NULL")
BATCH_LINE = re.compile(r"^(\S+ \S+) INFO event=batch .* seconds=([\d.]+) ")
FILLER = "CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 10000) g"
SLOW_VACUUM = (
    "ALTER TABLE orders_order SET (autovacuum_vacuum_threshold = 0,"
    " autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_insert_threshold = 0,"
    " autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1,"
    " autovacuum_enabled = on)"
)
VACUUMING = (
    "SELECT count(*) FROM pg_stat_progress_vacuum v JOIN pg_stat_activity a ON a.pid = v.pid"
    " WHERE v.datname = current_database() AND v.relid = 'orders_order'::regclass"
    " AND a.backend_type = 'autovacuum worker'"
)


@dataclass
class Pair:
    primary: Cluster
    standby: Cluster

    def lag(self) -> tuple[int, float]:
        """(bytes, seconds) behind, as the primary's pg_stat_replication reports them."""
        rows = self.primary.sql(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,"
            " coalesce(extract(epoch FROM replay_lag), 0)::float8"
            " FROM pg_stat_replication WHERE state = 'streaming'"
        )
        assert rows, "the standby is not streaming"
        return int(rows[0][0] or 0), float(rows[0][1])  # type: ignore[arg-type]

    @contextmanager
    def replay_paused(self) -> Iterator[None]:
        wait_for(lambda: self.lag()[0] == 0, 20, 0.1)  # caught up, lag samples read
        self.standby.sql("SELECT pg_wal_replay_pause()")
        try:
            wait_for(
                lambda: (
                    self.standby.sql("SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused"
                ),
                10,
                0.05,
            )
            yield
        finally:
            self.standby.sql("SELECT pg_wal_replay_resume()")


@dataclass
class PrimaryShop(ShopCopy):
    """A copy of the shop on the throwaway primary (ShopCopy talks to the shared server)."""

    cluster: Cluster | None = None

    def connect(self) -> Any:
        assert self.cluster is not None
        return self.cluster.connect(self.name)


@dataclass
class Background:
    proc: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()

    def throttles(self, action: str) -> list[str]:
        return [
            line
            for line in self.log().splitlines()
            if "event=throttle" in line and f"action={action} " in line
        ]

    def finish(self, timeout: float = 60) -> str:
        assert self.proc.wait(timeout) == 0, self.log()
        return self.log()


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    primary_settings = {"fsync": "off", "autovacuum_naptime": "1"}
    standby_settings = {"fsync": "off", "wal_receiver_status_interval": "1"}
    with (
        throwaway_cluster("schemaops-health-", primary_settings) as primary,
        standby_of(primary, "schemaops-health-standby-", standby_settings) as standby,
    ):
        primary.sql(f"CREATE DATABASE {TEMPLATE}")
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v", "0"],
            cwd=SAMPLE,
            env={**_env(primary, TEMPLATE), "DJANGO_SETTINGS_MODULE": "shop.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert migrate.returncode == 0, migrate.stderr
        yield Pair(primary, standby)


def _env(cluster: Cluster, name: str) -> dict[str, str]:
    return {
        **os.environ,
        "SHOP_DB_NAME": name,
        "SHOP_DB_HOST": "127.0.0.1",
        "SHOP_DB_PORT": str(cluster.port),
        "CELERY_BROKER_URL": "",
    }


@contextmanager
def _copy(pair: Pair) -> Iterator[PrimaryShop]:
    name = f"schemaops_live_{uuid.uuid4().hex[:10]}"
    pair.primary.sql(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')
    env = {k: v for k, v in _env(pair.primary, name).items() if k.startswith(("SHOP", "CEL"))}
    try:
        yield PrimaryShop(name, env, cluster=pair.primary)
    finally:
        pair.primary.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def shop(pair: Pair) -> Iterator[PrimaryShop]:
    with _copy(pair) as copy:
        yield copy


@contextmanager
def backfill(
    shop: ShopCopy, tmp_path: Path, *args: str, assign: str = SET_CENTS
) -> Iterator[Background]:
    """``schemaops backfill start orders.Order --set ...`` in the background, log to a file."""
    log_path = tmp_path / f"{shop.name}.log"
    full = {**os.environ, **shop.env}
    full.pop("DJANGO_SETTINGS_MODULE", None)
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*CLI, "start", "orders.Order", "--set", assign, "--batch-size", "500", *args],
            cwd=SAMPLE,
            env=full,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        yield Background(proc, log_path)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def status(shop: ShopCopy) -> dict[str, Any]:
    out = shop.cli("status", "--format", "json", timeout=60)
    assert out.returncode == 0, out.stderr
    runs: list[dict[str, Any]] = json.loads(out.stdout)["runs"]
    return runs[0]


def assert_held(shop: ShopCopy, job: Background, reason: str, seconds: float = 2.5) -> None:
    """Held: the hold is logged and stored, and no batch completes while it lasts."""
    wait_for(lambda: job.throttles("hold"), 30, 0.1)
    assert f'reason="{reason}' in job.throttles("hold")[0], job.log()
    run = status(shop)
    assert (run["state"], run["throttle_state"]) == ("active", "hold"), run
    assert run["throttle_reason"].startswith(reason), run
    time.sleep(seconds)
    assert job.proc.poll() is None, job.log()
    assert shop.done_batches() == 0
    assert "event=batch " not in job.log()
    assert status(shop)["throttle_state"] == "hold"


def assert_finished_right(shop: ShopCopy, job: Background, orders: int) -> str:
    log = job.finish()
    assert shop.wrong_rows() == 0
    assert shop.query("SELECT count(*) FROM orders_order")[0][0] == orders
    run = status(shop)
    assert (run["state"], run["remaining"]) == ("finished", 0), run
    return log


def test_holds_while_a_standby_is_more_bytes_behind(
    pair: Pair, shop: PrimaryShop, tmp_path: Path
) -> None:
    shop.seed(3000)
    with pair.replay_paused():
        shop.query(FILLER)  # about 3 MB of WAL
        assert pair.lag()[0] > 2 * MB  # the standby received it but cannot replay it
        job_cm = backfill(shop, tmp_path, "--max-lag-bytes", str(MB), "--max-lag-seconds", "0")
        with job_cm as job:
            assert_held(shop, job, "replication lag ")
            hold = job.throttles("hold")[0]
            lag_bytes = int(re.search(r"lag_bytes=(\d+)", hold).group(1))  # type: ignore[union-attr]
            assert lag_bytes > 2 * MB
            assert f"> {MB} B" in hold
            pair.standby.sql("SELECT pg_wal_replay_resume()")
            log = assert_finished_right(shop, job, 3000)
    assert "action=go reason=healthy" in log  # the return to "go" is logged too
    assert log.index("action=go") < log.index("event=batch ")
    assert status(shop)["throttle_state"] == "normal"


def test_holds_while_a_configured_replica_the_primary_does_not_list_is_behind(
    pair: Pair, shop: PrimaryShop, tmp_path: Path
) -> None:
    """The standby's WAL receiver is stopped: the primary's pg_stat_replication no longer
    lists it, but the project reads from it (DATABASES["replica"]), so its own replay
    position is what counts."""
    shop.seed(3000)
    shop.env["SHOP_REPLICA_PORT"] = str(pair.standby.port)
    conninfo = str(pair.standby.sql("SHOW primary_conninfo")[0][0])  # pg_basebackup -R's

    def receive_from(info: str) -> None:
        pair.standby.sql("ALTER SYSTEM SET primary_conninfo = %s", info)
        pair.standby.sql("SELECT pg_reload_conf()")

    receive_from("")
    try:
        wait_for(lambda: not pair.primary.sql("SELECT 1 FROM pg_stat_replication"), 20, 0.1)
        shop.query(FILLER)  # about 3 MB of WAL the replica will not get
        args = ("--max-lag-bytes", str(MB), "--max-lag-seconds", "0")
        with backfill(shop, tmp_path, *args) as job:
            assert_held(shop, job, "replication lag on replica replica ")
            receive_from(conninfo)
            assert_finished_right(shop, job, 3000)
    finally:
        receive_from(conninfo)
        wait_for(lambda: pair.primary.sql("SELECT 1 FROM pg_stat_replication"), 30, 0.2)


def test_holds_while_replay_lag_is_longer(pair: Pair, shop: PrimaryShop, tmp_path: Path) -> None:
    shop.seed(1000)
    with pair.replay_paused():
        shop.query("CREATE TABLE filler AS SELECT 1 AS one")
        wait_for(lambda: pair.lag()[1] > 3.0, 20, 0.2)  # grows ~1 s per second while paused
        args = ("--max-lag-bytes", "0", "--max-lag-seconds", "2")
        with backfill(shop, tmp_path, *args) as job:
            assert_held(shop, job, "replication lag ")
            assert re.search(r'reason="replication lag \d+\.\ds > 2\.0s"', job.throttles("hold")[0])
            pair.standby.sql("SELECT pg_wal_replay_resume()")
            assert_finished_right(shop, job, 1000)


def _slow_autovacuum(shop: PrimaryShop, orders: int) -> None:
    """Seed the table, then let autovacuum crawl over it (half a minute, unless stopped), and
    wait until it does. Autovacuum stays off until every dead row is there, so the first
    worker on the table is the slow one and no second one starts after a short first."""
    shop.query("ALTER TABLE orders_order SET (autovacuum_enabled = off)")
    shop.seed(orders)
    shop.query("UPDATE orders_order SET note = repeat('x', 200)")  # more pages to crawl over
    shop.query(SLOW_VACUUM)
    wait_for(lambda: shop.query(VACUUMING)[0][0], 30, 0.1)


def _stop_autovacuum(shop: PrimaryShop) -> None:
    shop.query("ALTER TABLE orders_order SET (autovacuum_enabled = off)")
    wait_for(lambda: not shop.query(VACUUMING)[0][0], 10, 0.1)


def batch_times(log: str) -> list[tuple[float, float]]:
    """(logged at, batch seconds) of every batch line."""
    found = [BATCH_LINE.match(line) for line in log.splitlines()]
    return [
        (datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f").timestamp(), float(seconds))
        for at, seconds in (match.groups() for match in found if match)
    ]


def test_slows_while_autovacuum_works_on_the_table(shop: PrimaryShop, tmp_path: Path) -> None:
    _slow_autovacuum(shop, 3000)
    args = ("--on-autovacuum", "slow", *ONLY_UNSET)
    with backfill(shop, tmp_path, *args, assign=SET_SLOWLY) as job:
        wait_for(lambda: "event=batch " in job.log(), 30, 0.1)
        slow = job.throttles("slow")
        assert slow and 'reason="autovacuum is running on the table"' in slow[0], job.log()
        assert "autovacuum=True" in slow[0]
        assert shop.query(VACUUMING)[0][0]  # batches went on while autovacuum still worked
        log = assert_finished_right(shop, job, 3000)
    assert shop.query(VACUUMING)[0][0], "autovacuum ended before the backfill: nothing shown"
    assert not job.throttles("hold") and not job.throttles("go")
    # Slow: after each batch the worker sleeps as long as the batch took, so one batch's
    # line follows the previous one by at least both batches' time (3 ms for rounding).
    times = batch_times(log)
    assert len(times) >= 4, log
    for (before, took_before), (after, took) in itertools.pairwise(times):
        assert after - before >= took_before + took - 0.003, log


def test_holds_while_autovacuum_works_when_asked(shop: PrimaryShop, tmp_path: Path) -> None:
    _slow_autovacuum(shop, 3000)
    with backfill(shop, tmp_path, "--on-autovacuum", "hold") as job:
        assert_held(shop, job, "autovacuum is running on the table")
        assert shop.query(VACUUMING)[0][0]
        _stop_autovacuum(shop)
        log = assert_finished_right(shop, job, 3000)
    assert log.index("action=go") < log.index("event=batch ")


def test_autovacuum_in_another_database_is_not_this_table(pair: Pair, shop: PrimaryShop) -> None:
    """Copies of one database share table OIDs: only this database's vacuum counts."""
    _slow_autovacuum(shop, 3000)
    with _copy(pair) as other:
        conn = other.connect()
        try:
            assert other.query("SELECT 'orders_order'::regclass::oid") == shop.query(
                "SELECT 'orders_order'::regclass::oid"
            )
            with conn.cursor() as cur:
                assert not throttle.read_signals(cur, "orders_order", None).autovacuum
        finally:
            conn.close()
    conn = shop.connect()
    try:
        with conn.cursor() as cur:
            assert throttle.read_signals(cur, "orders_order", None).autovacuum
    finally:
        conn.close()


def test_a_resumed_run_does_not_keep_the_hold_of_the_worker_before(
    pair: Pair, shop: PrimaryShop, tmp_path: Path
) -> None:
    """Held, paused, resumed once healthy: status shows the new worker's state, not the old."""
    shop.seed(1000)
    with pair.replay_paused():
        shop.query(FILLER)
        with backfill(shop, tmp_path, "--max-lag-bytes", str(MB)) as job:
            assert_held(shop, job, "replication lag ", seconds=0)
            assert shop.cli("pause", "1").returncode == 0
            job.proc.wait(30)  # the held worker sees the pause and stops
    wait_for(lambda: pair.lag()[0] == 0, 20, 0.1)
    assert status(shop)["throttle_state"] == "hold"  # what the last worker saw
    resumed = shop.cli("resume", "1", timeout=60)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert shop.wrong_rows() == 0
    run = status(shop)
    assert (run["state"], run["throttle_state"], run["throttle_reason"]) == (
        "finished",
        "normal",
        "",
    ), run
