"""Ctrl-C of an embedded run: the first lets the batches in flight commit, a second stops
at once, and the exit status is 130 whenever the second one lands.

The update is not idempotent (``total_cents = coalesce(total_cents, 0) + 1``), and a
trigger counts every update of a row, so a batch applied twice or half shows.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest
from backfill_support import ROOT, ShopCopy, wait_for

BUMP = ("--set", "total_cents = coalesce(total_cents, 0) + 1", "--non-idempotent")
RUNNING = "SELECT count(*) FROM schemaops_backfill_batch WHERE state = 'running'"


def _counted_and_slow(shop: ShopCopy, rows: int = 8_000) -> None:
    """Count every update of a row; each costs 0.2 ms, so batches are in flight."""
    shop.seed(rows)
    shop.query("ALTER TABLE orders_order ADD COLUMN touches int NOT NULL DEFAULT 0")
    shop.query(
        "CREATE FUNCTION count_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " NEW.touches := OLD.touches + 1; PERFORM pg_sleep(0.0002); RETURN NEW; END $$"
    )
    shop.query(
        "CREATE TRIGGER count_touch BEFORE UPDATE ON orders_order"
        " FOR EACH ROW EXECUTE FUNCTION count_touch()"
    )


def _started(shop: ShopCopy) -> subprocess.Popen[str]:
    """The embedded run, once it has done a batch more than before (workers mid-run)."""
    before = shop.done_batches() if shop.query("SELECT 1 FROM schemaops_backfill_run") else 0
    proc = shop.popen("start", "orders.Order", *BUMP, "--workers", "2")
    wait_for(lambda: shop.done_batches() > before or proc.poll() is not None, 120, 0.02)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    return proc


def _no_row_twice(shop: ShopCopy) -> None:
    twice = shop.query("SELECT count(*) FROM orders_order WHERE total_cents > 1 OR touches > 1")
    assert twice == [(0,)]
    assert shop.inconsistent_rows() == 0  # every batch applied whole or not at all


def test_one_ctrl_c_lets_the_batches_in_flight_commit(shop: ShopCopy) -> None:
    _counted_and_slow(shop)
    proc = _started(shop)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "finishing the batches in flight (Ctrl-C again to stop at once)" in err
    assert "resume with: schemaops backfill resume 1" in err and "Traceback" not in err
    assert shop.query(RUNNING) == [(0,)], err[-3000:]
    _no_row_twice(shop)


@pytest.mark.parametrize(
    "gaps",
    [
        (0.0,),
        pytest.param((0.02,), marks=pytest.mark.once),
        pytest.param((0.1,), marks=pytest.mark.once),
        pytest.param((0.0, 0.0, 0.0, 0.0), marks=pytest.mark.once),
    ],
)
def test_a_second_ctrl_c_stops_at_once_whenever_it_lands(
    shop: ShopCopy, gaps: tuple[float, ...]
) -> None:
    """Back to back (inside the first one's handling), a little later (while the workers
    finish their batches), or a burst: always exit 130, never death by the signal."""
    _counted_and_slow(shop)
    proc = _started(shop)
    proc.send_signal(signal.SIGINT)
    for gap in gaps:
        time.sleep(gap)
        proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-2000:]
    assert time.monotonic() - sent < 3.0  # at once: no batch is waited for
    assert "Traceback" not in err
    _no_row_twice(shop)
    # What was cut off rolled back; the run picks it up and applies every row once.
    finished = shop.cli("start", "orders.Order", *BUMP, "--workers", "2")
    assert finished.returncode == 0, finished.stderr[-2000:]
    counts = shop.query("SELECT min(total_cents), max(total_cents), max(touches) FROM orders_order")
    assert counts == [(1, 1, 1)]


HANDLER_RACE = textwrap.dedent(
    """
    import os, signal, sys, time
    sys.path.insert(0, {root!r})
    from schemaops.backfill.dispatch import CtrlC

    def stop():  # the second Ctrl-C arrives while the first is being handled
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        print("not stopped at once", flush=True)

    CtrlC(stop).install()
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(2)
    sys.exit(0)
    """
)


def test_a_second_ctrl_c_during_the_first_ones_handling_exits_130() -> None:
    """The race that used to end the process by SIGINT (-2), made certain: the second
    signal is sent from inside the first one's handling."""
    script = HANDLER_RACE.format(root=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == "stopped at once; the batches in flight roll back"
