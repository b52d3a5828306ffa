"""A Celery worker told to shut down (warm shutdown: SIGTERM or SIGINT) mid-run.

It must leave no batch ``running``: its tasks finish the batch in flight (or it rolls
back), give their claims made ahead back, re-queue themselves and return, so another
worker picks the run up; the shutdown does not wait out a task's 60 s budget.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from backfill_support import ShopCopy, Worker, assert_exactly_once, wait_for

BUMP = ("--set", "total_cents = coalesce(total_cents, 0) + 1", "--non-idempotent")
RUNNING = "SELECT count(*) FROM schemaops_backfill_batch WHERE state = 'running'"


def _slow(shop: ShopCopy, rows: int) -> None:
    shop.seed(rows)
    shop.query(
        "CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.0002); RETURN NEW; END $$"
    )
    shop.query(
        "CREATE TRIGGER slow BEFORE UPDATE ON orders_order FOR EACH ROW EXECUTE FUNCTION slow_row()"
    )


@pytest.mark.parametrize(
    ("how", "sig"),
    [
        ("worker", signal.SIGTERM),
        pytest.param("worker", signal.SIGINT, marks=pytest.mark.once),
        pytest.param("group", signal.SIGTERM, marks=pytest.mark.once),
    ],
)
def test_warm_shutdown_leaves_no_batch_running_and_another_worker_goes_on(
    shop: ShopCopy, redis_available: str, how: str, sig: signal.Signals
) -> None:
    """``worker``: the signal to the main process (``celery control shutdown``, a
    supervisor); ``group``: to the main process and its pool children at once (systemd's
    default KillMode, ``docker stop`` of a shell-less image, Ctrl-C in a terminal)."""
    _slow(shop, 20_000)
    shop.env["CELERY_BROKER_URL"] = redis_available
    queue = f"shutdown-{uuid.uuid4().hex[:8]}"
    first, second = Worker(shop, queue), Worker(shop, queue)
    first.start()
    try:
        started = shop.cli(
            "start", "orders.Order", *BUMP, "--workers", "2", "--queue", queue,
            "--max-batch-size", "400", "--max-rows-per-second", "1000", "--no-wait",
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        wait_for(lambda: shop.done_batches() >= 5, 120, 0.05)
        assert first.proc is not None
        signalled = time.monotonic()
        if how == "group":
            os.killpg(first.proc.pid, sig)
        else:
            first.proc.send_signal(sig)
        first.proc.wait(timeout=45)
        took = time.monotonic() - signalled
        assert shop.query(RUNNING) == [(0,)]  # finished or rolled back, none left running
        assert shop.run_state() == "active"
        logged = first.log_path.read_text()
        assert "Traceback" not in logged, logged[-3000:]
        # The run has ~15 s of work left (a rate limit): a shutdown that waited for the
        # tasks' end would take that long, or their 60 s budget.
        assert took < 8, f"shutdown took {took:.1f}s: it waited for the tasks to end"
        second.start()  # nobody types resume: the re-queued tasks are waiting for it
        wait_for(lambda: shop.run_state() == "finished", 180, 0.5)
    finally:
        first.stop()
        second.stop()
    twice = shop.query("SELECT count(*) FROM orders_order WHERE total_cents IS DISTINCT FROM 1")
    assert twice == [(0,)]
    rows = shop.query("SELECT count(*) FROM orders_order")[0][0]
    assert_exactly_once(shop, 1, rows)
    assert shop.query("SELECT remaining FROM schemaops_backfill_run") == [(0,)]


@pytest.mark.once
def test_sigterm_to_one_pool_process_lets_its_batch_commit(
    shop: ShopCopy, redis_available: str
) -> None:
    """Its task stops after the batch in flight and re-queues itself; the process ends
    as the SIGTERM asked and the pool replaces it; nothing is logged as lost."""
    _slow(shop, 10_000)
    shop.env["CELERY_BROKER_URL"] = redis_available
    worker = Worker(shop, f"shutdown-{uuid.uuid4().hex[:8]}")
    worker.start()
    try:
        started = shop.cli(
            "start", "orders.Order", *BUMP, "--workers", "2", "--queue", worker.queue,
            "--max-batch-size", "400", "--no-wait",
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        wait_for(lambda: shop.done_batches() >= 5, 120, 0.05)
        victim = worker.pool()[0]
        os.kill(victim, signal.SIGTERM)
        wait_for(lambda: victim not in worker.pool(), 30, 0.1)
        wait_for(lambda: shop.run_state() == "finished", 180, 0.5)
    finally:
        worker.stop()
    logged = worker.log_path.read_text()
    assert "WorkerLostError" not in logged, logged[-3000:]
    assert shop.query("SELECT count(*) FROM orders_order WHERE total_cents <> 1") == [(0,)]
    assert_exactly_once(shop, 1, shop.query("SELECT count(*) FROM orders_order")[0][0])
