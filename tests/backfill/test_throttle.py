"""Health signals and throttle decisions, on a real server."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from backfill_support import SET_CENTS, ShopCopy, wait_for

from schemaops.backfill import throttle
from schemaops.backfill.throttle import Decision, Signals, Thresholds
from schemaops.errors import ConfigError


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        (Signals(), Decision("go")),
        (
            Signals(lag_bytes=300 * 2**20),
            Decision("hold", "replication lag 314572800 B > 268435456 B"),
        ),
        (Signals(lag_seconds=45.0), Decision("hold", "replication lag 45.0s > 30.0s")),
        (Signals(autovacuum=True), Decision("slow", "autovacuum is running on the table")),
        (Signals(hook_reason="deploy"), Decision("hold", "hook: deploy")),
    ],
)
def test_decide(signals: Signals, expected: Decision) -> None:
    assert throttle.decide(signals, Thresholds()) == expected


def test_thresholds_are_configurable() -> None:
    limits = Thresholds.from_options({"max_lag_bytes": 0, "on_autovacuum": "ignore", "x": 1})
    assert throttle.decide(Signals(lag_bytes=10**12, autovacuum=True), limits).action == "go"


def test_signals_on_a_server_without_standbys(shop: ShopCopy) -> None:
    conn = shop.connect()
    with conn.cursor() as cur:
        signals = throttle.read_signals(cur, "orders_order", lambda: None)
    conn.close()
    assert signals == Signals(0, 0.0, False, None)


def test_waiters_behind_a_batch_are_counted(shop: ShopCopy) -> None:
    shop.seed(10)
    holder, blocked = shop.connect(), shop.connect()
    holder.autocommit = False
    with holder.cursor() as cur:
        cur.execute("UPDATE orders_order SET note = 'x' WHERE id = 1")
        assert throttle.waiters_behind_me(cur) == 0
        waiter = threading.Thread(
            target=lambda: blocked.cursor().execute(
                "UPDATE orders_order SET note = 'y' WHERE id = 1"
            )
        )
        waiter.start()
        wait_for(lambda: throttle.waiters_behind_me(cur) == 1, 10, 0.05)
    holder.rollback()
    waiter.join()
    holder.close()
    blocked.close()


def test_bad_hook_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot import throttle hook"):
        throttle.load_hook("no_such_module:check")


HOOK = """
from pathlib import Path

def check():
    return "maintenance window" if Path(__file__).with_name("hold.flag").exists() else None
"""


def test_user_hook_holds_until_it_clears(shop: ShopCopy, tmp_path: Path) -> None:
    shop.seed(2_000)
    (tmp_path / "bf_hook.py").write_text(HOOK)
    (tmp_path / "hold.flag").write_text("")
    proc = shop.popen(
        "start",
        "orders.Order",
        "--set",
        SET_CENTS,
        "--throttle-hook",
        "bf_hook:check",
        PYTHONPATH=str(tmp_path),
    )
    wait_for(
        lambda: (
            shop.query("SELECT throttle_state, throttle_reason FROM schemaops_backfill_run")
            == [("hold", "hook: maintenance window")]
        ),
        60,
    )
    time.sleep(1.5)
    assert shop.done_batches() == 0
    (tmp_path / "hold.flag").unlink()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert 'action=hold reason="hook: maintenance window"' in err
    assert "action=go reason=healthy" in err
    assert shop.wrong_rows() == 0
    assert shop.query("SELECT throttle_state FROM schemaops_backfill_run")[0][0] == "normal"


def test_global_rate_limit_across_workers(shop: ShopCopy) -> None:
    shop.seed(3_000)
    started = time.monotonic()
    result = shop.cli(
        "start",
        "orders.Order",
        "--set",
        SET_CENTS,
        "--workers",
        "2",
        "--batch-size",
        "250",
        "--max-batch-size",
        "250",
        "--max-rows-per-second",
        "1500",
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert shop.wrong_rows() == 0
    first, last = shop.query(
        "SELECT extract(epoch FROM min(started_at)), extract(epoch FROM max(finished_at)) "
        "FROM schemaops_backfill_batch"
    )[0]
    # 12 batches of 250 rows at 1500 rows/s: the last one's slot is 11 * 250 / 1500 s in
    assert float(last) - float(first) >= 11 * 250 / 1500 - 0.1
    assert elapsed > 1.8


def test_pause_while_held_stops_the_workers(shop: ShopCopy, tmp_path: Path) -> None:
    shop.seed(500)
    (tmp_path / "bf_hook.py").write_text(HOOK)
    (tmp_path / "hold.flag").write_text("")
    proc = shop.popen(
        "start",
        "orders.Order",
        "--set",
        SET_CENTS,
        "--throttle-hook",
        "bf_hook:check",
        PYTHONPATH=str(tmp_path),
    )
    wait_for(lambda: shop.query("SELECT throttle_state FROM schemaops_backfill_run") == [("hold",)])
    assert shop.cli("pause", "1").returncode == 0
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "state paused" in out, err
    assert shop.done_batches() == 0
