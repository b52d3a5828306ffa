"""Faults on a real database: held locks, broken SQL, a killed worker, pause/resume/cancel."""

from __future__ import annotations

import random
import signal
import threading
import time

import pytest
from backfill_support import SET_CENTS, ShopCopy, assert_exactly_once, wait_for


def test_held_lock_makes_batches_time_out_and_retry_without_failing(shop: ShopCopy) -> None:
    shop.seed(4_000)
    locker = shop.connect()
    locker.autocommit = False
    with locker.cursor() as cur:
        cur.execute("SELECT id FROM orders_order WHERE id BETWEEN 1500 AND 1600 FOR UPDATE")
    proc = shop.popen(
        "start",
        "orders.Order",
        "--set",
        SET_CENTS,
        "--batch-size",
        "200",
        "--max-batch-size",
        "200",
        "--lock-timeout",
        "100ms",
    )
    time.sleep(4)
    locker.rollback()
    locker.close()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "code=55P03" in err and "retry in" in err and "split into" in err
    assert shop.wrong_rows() == 0 and shop.run_state() == "finished"
    timeouts = shop.query("SELECT max(timeouts) FROM schemaops_backfill_batch")[0][0]
    assert timeouts >= 1
    run_id = shop.query("SELECT id FROM schemaops_backfill_run")[0][0]
    assert_exactly_once(shop, run_id, 4_000 + 400 - (4_400 // 11))


def test_errors_in_every_batch_stop_the_run(shop: ShopCopy) -> None:
    shop.seed(10_000)
    result = shop.cli(
        "start",
        "orders.Order",
        "--set",
        "total_cents = 100 / (id - id)",
        "--batch-size",
        "500",
        "--max-batch-size",
        "500",
    )
    assert result.returncode == 1
    assert "failed: 5 batches failed; last error:" in result.stderr
    assert "division by zero" in result.stderr
    assert shop.run_state() == "failed" and shop.wrong_rows() > 9_000
    failed = shop.query(
        "SELECT count(*), min(attempts), max(attempts) FROM schemaops_backfill_batch"
        " WHERE state = 'failed'"
    )[0]
    # Each failed batch was tried exactly MAX_ATTEMPTS (3) times, every failure recorded
    # against its own lease (the claim made ahead never takes over the batch in flight).
    assert failed == (5, 3, 3)
    assert "lease lost" not in result.stderr


def test_a_killed_workers_batch_is_taken_over(shop: ShopCopy) -> None:
    shop.seed(3_000)
    locker = shop.connect()
    locker.autocommit = False
    with locker.cursor() as cur:  # the first batch will wait on this lock
        cur.execute("SELECT id FROM orders_order WHERE id = 50 FOR UPDATE")
    args = ("--batch-size", "300", "--lock-timeout", "3s", "--statement-timeout", "10s")
    proc = shop.popen("start", "orders.Order", "--set", SET_CENTS, *args)
    stuck = wait_for(
        lambda: shop.query(
            "SELECT id, backend_pid FROM schemaops_backfill_batch WHERE state = 'running'"
        ),
        60,
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    locker.rollback()
    locker.close()
    batch_id, dead_pid = stuck[0]
    result = shop.cli("start", "orders.Order", "--set", SET_CENTS, *args)  # its own settings
    assert result.returncode == 0, result.stderr
    assert "run 1 resumed" in result.stdout
    state, attempts, pid = shop.query(
        "SELECT state, attempts, backend_pid FROM schemaops_backfill_batch WHERE id = %s",
        [batch_id],
    )[0]
    assert state == "done" and attempts == 2 and pid != dead_pid
    assert shop.wrong_rows() == 0
    assert_exactly_once(shop, 1, 3_000 + 300 - (3_300 // 11))


def _writer(shop: ShopCopy, stop: threading.Event) -> None:
    """A concurrent write load: single-row updates of another column, all the time."""
    conn = shop.connect()
    top = shop.query("SELECT max(id) FROM orders_order")[0][0]
    with conn.cursor() as cur:
        while not stop.is_set():
            cur.execute(
                "UPDATE orders_order SET status = 'paid' WHERE id = %s", [random.randint(1, top)]
            )
    conn.close()


@pytest.mark.once
def test_pause_resume_cancel_under_load(shop: ShopCopy) -> None:
    shop.seed(30_000)
    stop = threading.Event()
    load = threading.Thread(target=_writer, args=(shop, stop))
    load.start()
    try:
        args = (
            "start",
            "orders.Order",
            "--set",
            SET_CENTS,
            "--max-batch-size",
            "300",
            "--pause",
            "0.05",
        )
        proc = shop.popen(*args)
        wait_for(lambda: shop.done_batches() >= 3, 60)
        assert shop.cli("pause", "1").returncode == 0
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "state paused" in out, err
        frozen = shop.done_batches()
        time.sleep(1.0)
        assert shop.done_batches() == frozen and shop.inconsistent_rows() == 0
        assert (
            shop.query("SELECT count(*) FROM schemaops_backfill_batch WHERE state = 'running'")[0][
                0
            ]
            == 0
        )

        proc = shop.popen("resume", "1")
        wait_for(lambda: shop.done_batches() >= frozen + 3, 60)
        assert shop.cli("cancel", "1").returncode == 0
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "state cancelled" in out, err
        assert shop.wrong_rows() > 0 and shop.inconsistent_rows() == 0
        assert shop.cli("resume", "1").returncode == 2  # cancelled is final
    finally:
        stop.set()
        load.join()
    again = shop.cli(*args[:4])
    assert again.returncode == 0 and "run 2 created" in again.stdout, again.stderr
    assert shop.wrong_rows() == 0


def test_statement_timeout_splits_the_range_at_once(shop: ShopCopy) -> None:
    shop.seed(600)
    shop.query(  # every updated row costs ~1 ms: 300-row batches cannot fit in 100 ms
        "CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END $$"
    )
    shop.query(
        "CREATE TRIGGER slow BEFORE UPDATE ON orders_order FOR EACH ROW EXECUTE FUNCTION slow_row()"
    )
    result = shop.cli(
        "start",
        "orders.Order",
        "--set",
        SET_CENTS,
        "--batch-size",
        "300",
        "--statement-timeout",
        "100ms",
        "--target-duration",
        "0.05",
    )
    assert result.returncode == 0, result.stderr
    assert "code=57014" in result.stderr and "split into" in result.stderr
    assert shop.wrong_rows() == 0
    longest = shop.query("SELECT max(duration) FROM schemaops_backfill_batch")[0][0]
    # No batch held its locks past the statement timeout (100 ms): a batch of 300 rows at
    # 0.5 ms a row takes 150 ms or more, so anything under 140 ms was cut by the timeout;
    # the recorded duration also counts the batch's commit, a few ms on a loaded machine.
    assert longest < 0.14
