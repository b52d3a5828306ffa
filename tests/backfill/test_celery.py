"""Through a real Redis broker and a real ``celery worker`` process."""

from __future__ import annotations

import time

import pytest
from backfill_support import SET_CENTS, ShopCopy, Worker, assert_exactly_once, wait_for


def _expected(seeded: int) -> int:
    return seeded + seeded // 10 - (seeded + seeded // 10) // 11


def test_declarative_and_python_forms_through_redis(shop: ShopCopy, worker: Worker) -> None:
    shop.seed(20_000)
    worker.start()
    result = shop.cli(
        "start",
        "orders.Order",
        "--set",
        SET_CENTS,
        "--workers",
        "2",
        "--queue",
        worker.queue,
        "--max-batch-size",
        "1000",
        "--wait",
    )
    assert result.returncode == 0, result.stderr
    assert "2 task(s) queued on redis://" in result.stdout
    assert shop.wrong_rows() == 0
    assert_exactly_once(shop, 1, _expected(20_000))
    pids = shop.query(
        "SELECT count(DISTINCT split_part(worker, ':', 2)) FROM schemaops_backfill_batch"
    )[0][0]
    assert pids == 2  # two pool processes of the worker, not this process

    shop.query("UPDATE orders_order SET total_cents = NULL")
    result = shop.cli("start", "orders.FillTotalCents", "--queue", worker.queue, "--wait")
    assert result.returncode == 0, result.stderr
    assert shop.wrong_rows() == 0 and shop.run_state() == "finished"


def test_no_wait_returns_at_once_and_status_follows(shop: ShopCopy, worker: Worker) -> None:
    shop.seed(5_000)
    result = shop.cli("start", "orders.Order", "--set", SET_CENTS, "--queue", worker.queue)
    assert result.returncode == 0 and "watch it with: schemaops backfill status 1" in result.stdout
    assert shop.run_state() == "active" and shop.done_batches() == 0  # no worker yet
    worker.start()
    wait_for(lambda: shop.run_state() == "finished", 90)
    assert shop.wrong_rows() == 0


@pytest.mark.slow
def test_sigkill_workers_mid_run_then_resume(shop: ShopCopy, worker: Worker) -> None:
    shop.seed(20_000)
    # A per-row trigger that sleeps makes every batch last ~0.1 s, so kills land mid-batch.
    shop.query(
        "CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.0002); RETURN NEW; END $$"
    )
    shop.query(
        "CREATE TRIGGER slow BEFORE UPDATE ON orders_order FOR EACH ROW EXECUTE FUNCTION slow_row()"
    )
    worker.start()
    result = shop.cli(
        "start",
        "orders.Order",
        "--set",
        SET_CENTS,
        "--workers",
        "2",
        "--queue",
        worker.queue,
        "--max-batch-size",
        "400",
        "--lease",
        "5",
    )
    assert result.returncode == 0, result.stderr
    for _ in range(3):
        seen = shop.done_batches()
        wait_for(lambda seen=seen: shop.done_batches() >= seen + 5, 120, 0.05)
        worker.kill()  # SIGKILL to the worker and its pool children, mid-batch
        time.sleep(0.5)
        assert shop.run_state() == "active"
        worker.start()
        resumed = shop.cli("resume", "1", "--queue", worker.queue)
        assert resumed.returncode == 0, resumed.stderr
    wait_for(lambda: shop.run_state() == "finished", 240, 0.5)
    assert shop.wrong_rows() == 0
    assert_exactly_once(shop, 1, _expected(20_000))
    retried = shop.query("SELECT count(*) FROM schemaops_backfill_batch WHERE attempts > 1")[0][0]
    remaining = shop.query("SELECT remaining FROM schemaops_backfill_run")[0][0]
    assert remaining == 0
    assert retried >= 1  # a range whose transaction died with its worker ran again, once
