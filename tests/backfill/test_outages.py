"""Outages on a PostgreSQL cluster and a Redis broker of the test's own, during live runs.

Each test breaks a real service under a running backfill: an immediate restart of the
server, pg_terminate_backend of the worker's sessions, a frozen worker process (SIGSTOP),
a SIGKILLed Celery worker, a killed broker. Nobody types anything afterwards: the run
must finish by itself, with every row updated exactly once: the update is not
idempotent (``total_cents = coalesce(total_cents, 0) + 1``, run with
``--non-idempotent``), so a row applied twice shows as 2 and a lost one as NULL; a
trigger also counts every update of a row in ``touches``.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import pytest
from backfill_support import ShopCopy, Worker, assert_exactly_once, wait_for
from outage_support import (
    Broker,
    frozen,
    reachable,
    restart_immediately,
    shop_on_cluster,
    terminate_sessions,
    throwaway_broker,
)

ROWS = 20_000
BUMP = ("--set", "total_cents = coalesce(total_cents, 0) + 1", "--non-idempotent")


def _counted_and_slow(shop: ShopCopy, seconds_per_row: float = 0.0002, rows: int = ROWS) -> None:
    """Seed, then count every update of a row and make each cost a little (batches then
    last ~0.1 s, so faults land mid-batch)."""
    shop.seed(rows)
    shop.query("ALTER TABLE orders_order ADD COLUMN touches int NOT NULL DEFAULT 0")
    shop.query(
        "CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" NEW.touches := OLD.touches + 1; PERFORM pg_sleep({seconds_per_row}); RETURN NEW;"
        " END $$"
    )
    shop.query(
        "CREATE TRIGGER count_touch BEFORE UPDATE ON orders_order"
        " FOR EACH ROW EXECUTE FUNCTION count_touch()"
    )


def _assert_every_row_once(shop: ShopCopy) -> None:
    lost = shop.query("SELECT count(*) FROM orders_order WHERE total_cents IS NULL")[0][0]
    twice = shop.query("SELECT count(*) FROM orders_order WHERE total_cents > 1 OR touches > 1")[0][
        0
    ]
    assert (lost, twice) == (0, 0), f"{lost} rows lost, {twice} applied twice"
    assert shop.inconsistent_rows() == 0
    run_id = shop.query("SELECT max(id) FROM schemaops_backfill_run")[0][0]
    assert_exactly_once(shop, run_id, shop.query("SELECT count(*) FROM orders_order")[0][0])


def _after_some_batches(shop: ShopCopy, more: int = 3) -> None:
    def done() -> int:
        try:
            return shop.done_batches()
        except Exception:
            return -1

    seen = max(0, done())
    wait_for(lambda: done() >= seen + more, 120, 0.05)


@pytest.mark.once
def test_embedded_run_rides_out_restarts_and_terminations() -> None:
    with shop_on_cluster() as (shop, cluster):
        _counted_and_slow(shop)
        proc = shop.popen("start", "orders.Order", *BUMP, "--max-batch-size", "400", "--lease", "5")
        _after_some_batches(shop)
        assert terminate_sessions(shop) >= 1
        _after_some_batches(shop)
        restart_immediately(cluster)
        _after_some_batches(shop)
        assert terminate_sessions(shop) >= 1
        _out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-3000:]
        assert "event=connection-lost" in err
        assert shop.run_state() == "finished"
        _assert_every_row_once(shop)


def test_celery_workers_ride_out_restarts_terminations_and_a_frozen_worker() -> None:
    """No watcher: the workers alone carry the run through the faults to its end."""
    with shop_on_cluster() as (shop, cluster), throwaway_broker() as broker:
        _counted_and_slow(shop)
        shop.env["CELERY_BROKER_URL"] = broker.url
        worker = Worker(shop, f"outages-{uuid.uuid4().hex[:8]}", concurrency=2, broker=broker.url)
        worker.start()
        try:
            started = shop.cli(
                "start", "orders.Order", *BUMP, "--workers", "2",
                "--queue", worker.queue, "--max-batch-size", "400", "--lease", "5", "--no-wait",
            )  # fmt: skip
            assert started.returncode == 0, started.stderr
            _after_some_batches(shop)
            terminate_sessions(shop)
            _after_some_batches(shop)
            restart_immediately(cluster)
            _after_some_batches(shop)
            with frozen(worker.pool()[:1], 3.0):
                _after_some_batches(shop)  # the other worker goes on meanwhile
            longest = shop.query("SELECT max(duration) FROM schemaops_backfill_batch")[0][0]
            wait_for(lambda: reachable(shop) and shop.run_state() == "finished", 120, 0.5)
            # what the workers logged through the faults (stopping them afterwards may log
            # billiard's own WorkerLostError for a child that was still between tasks)
            logged = worker.log_path.read_text()
        finally:
            worker.stop()
        _assert_every_row_once(shop)
        assert longest < 1.5  # the frozen worker's transaction was ended, not waited for
        assert "event=connection-lost" in logged and "Traceback" not in logged


@pytest.mark.once
def test_watcher_gives_up_after_its_time_with_one_line() -> None:
    with shop_on_cluster() as (shop, cluster):
        _counted_and_slow(shop)
        proc = shop.popen(
            "start", "orders.Order", *BUMP, "--max-batch-size", "400",
            "--give-up-after", "3",
        )  # fmt: skip
        _after_some_batches(shop)
        subprocess_stop(cluster)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2
        last = err.strip().splitlines()[-1]
        assert "gave up after the database was unreachable" in last
        assert "schemaops backfill resume 1" in last
        assert "Traceback" not in err
        cluster.start()
        assert reachable(shop) and shop.run_state() == "active"


def subprocess_stop(cluster: Any) -> None:
    import subprocess

    subprocess.run([*cluster.pg_ctl, "-m", "immediate", "stop"], check=True, capture_output=True)


@pytest.mark.slow
def test_twenty_faults_at_random_moments_lose_nothing_and_apply_nothing_twice() -> None:
    """SIGKILLed and frozen Celery workers, terminated sessions, immediate restarts of
    PostgreSQL and a killed broker, 20 in all, while a ``--wait`` watcher follows the run."""
    rng = random.Random(14)
    kinds = ["sigkill", "terminate", "restart", "broker", "freeze"] * 4
    rng.shuffle(kinds)
    with shop_on_cluster() as (shop, cluster), throwaway_broker() as broker:
        _counted_and_slow(shop, 0.0006, rows=40_000)  # work left after the 20th fault
        shop.env["CELERY_BROKER_URL"] = broker.url
        worker = Worker(shop, f"faults-{uuid.uuid4().hex[:8]}", concurrency=2, broker=broker.url)
        worker.start()
        watcher = shop.popen(
            "start", "orders.Order", *BUMP, "--workers", "2", "--queue", worker.queue,
            "--max-batch-size", "200", "--lease", "3", "--wait",
        )  # fmt: skip
        table = []
        started = time.monotonic()
        for kind in kinds:
            _after_some_batches(shop, rng.randint(1, 3))
            time.sleep(rng.uniform(0, 0.3))
            done, state = shop.done_batches(), shop.run_state()
            _inject(kind, shop, cluster, broker, worker, rng)
            table.append((f"{time.monotonic() - started:6.1f}s", kind, done, state))
        _out, err = watcher.communicate(timeout=150)
        worker.stop()
        faults = "\n".join(
            f"{at} {kind:<9} after {done} done batches" for at, kind, done, _ in table
        )
        assert watcher.returncode == 0, faults + err[-3000:]
        assert {state for *_, state in table} <= {"active", "stalled"}  # all mid-run
        _assert_every_row_once(shop)
        print(f"\n{faults}\nfinished {time.monotonic() - started:.1f}s after the first fault")


def _inject(
    kind: str, shop: ShopCopy, cluster: Any, broker: Broker, worker: Worker, rng: Any
) -> None:
    if kind == "sigkill":
        worker.kill()
        time.sleep(0.3)
        worker.start()  # a supervisor restarts it; nobody re-queues the run by hand
    elif kind == "terminate":
        terminate_sessions(shop)
    elif kind == "restart":
        restart_immediately(cluster)
    elif kind == "broker":
        broker.kill()
        time.sleep(rng.uniform(0.5, 1.5))
        broker.start()
    elif kind == "freeze":
        with frozen(worker.pool()[:1], rng.uniform(2.0, 3.0)):
            pass
