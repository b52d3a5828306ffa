"""Updates that are not safe to run twice, and a second ``start`` with other settings."""

from __future__ import annotations

import signal
import uuid

import pytest
from backfill_support import REDIS_URL, SET_CENTS, ShopCopy, wait_for

from schemaops.backfill import batching, idempotence
from schemaops.backfill.batching import Range


def test_reads_names_columns_and_functions_from_the_parse_tree() -> None:
    read = idempotence.reads('coalesce(o.total_cents, 0) + pg_catalog.random() * "total"')
    assert read.columns == {"total_cents", "total"}
    assert read.functions == {("pg_catalog", "random")}  # COALESCE is syntax, not a call
    text = idempotence.reads("'total_cents = total_cents + 1'")  # a string is no column
    assert text.columns == frozenset() and text.functions == frozenset()


def test_gaps_are_the_keys_no_done_range_covers() -> None:
    done = [Range(1, 10), Range(10, 20), Range(25, 30)]
    assert batching.gaps(done, 1) == [Range(20, 25), Range(30, batching.OPEN_END)]
    assert batching.gaps([], 5) == [Range(5, batching.OPEN_END)]


@pytest.mark.parametrize(
    ("set_value", "fragment"),
    [
        ("total_cents = total_cents + 1", "total_cents = total_cents + 1 reads the column"),
        ("total_cents = coalesce(o.total_cents, 0) + 1", "reads the column it sets"),
        ("note = clock_timestamp()::text", "calls volatile clock_timestamp()"),
        ("note = pg_catalog.random()::text", "calls volatile random()"),
        ("note = shop_next_note()", "calls volatile shop_next_note()"),
    ],
)
def test_an_update_not_safe_to_repeat_is_refused(
    shop: ShopCopy, set_value: str, fragment: str
) -> None:
    shop.seed(100)
    shop.query(
        "CREATE FUNCTION shop_next_note() RETURNS text VOLATILE LANGUAGE sql AS $$ SELECT 'n' $$"
    )
    for extra in ((), ("--dry-run",)):
        result = shop.cli("start", "orders.Order", "--set", set_value, *extra)
        assert result.returncode == 2, result.stderr
        assert fragment in result.stderr and "--non-idempotent" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert shop.query("SELECT count(*) FROM schemaops_backfill_run")[0][0] == 0


def test_stable_functions_and_a_self_limiting_where_are_accepted(shop: ShopCopy) -> None:
    shop.seed(2_000)
    result = shop.cli("start", "orders.Order", "--set", "note = now()::date::text", "--dry-run")
    assert result.returncode == 0, result.stderr
    limited = (
        "--set",
        "total_cents = coalesce(total_cents, 0) + 7",
        "--where",
        "total_cents IS NULL",
    )
    result = shop.cli("start", "orders.Order", *limited)
    assert result.returncode == 0, result.stderr
    assert shop.query("SELECT min(total_cents), max(total_cents) FROM orders_order")[0] == (7, 7)
    assert shop.query("SELECT remaining FROM schemaops_backfill_run")[0][0] == 0


def test_start_of_an_active_run_with_other_settings_shows_the_difference(
    shop: ShopCopy, redis_available: str
) -> None:
    import redis

    shop.seed(500)
    queue = f"schemaops-nobody-{uuid.uuid4().hex[:8]}"
    base = ("start", "orders.Order", "--set", SET_CENTS, "--queue", queue, "--no-wait")
    env = {"CELERY_BROKER_URL": REDIS_URL}
    try:
        assert shop.cli(*base, "--lease", "30", **env).returncode == 0
        again = shop.cli(*base, "--lease", "30", **env)
        assert again.returncode == 0 and "run 1 resumed" in again.stdout, again.stderr
        other = shop.cli(*base, "--lease", "45", "--throttle-hook", "shop.x:y", **env)
    finally:
        redis.Redis.from_url(REDIS_URL).delete(queue)
    assert other.returncode == 2
    assert "run 1 of orders.Order is active with other settings:" in other.stderr
    assert "--lease 30.0 (given 45.0)" in other.stderr
    assert "--throttle-hook '' (given 'shop.x:y')" in other.stderr
    assert "schemaops backfill cancel 1" in other.stderr
    assert shop.query("SELECT lease_seconds FROM schemaops_backfill_run")[0][0] == 30.0


BUMP = "total_cents = coalesce(total_cents, 0) + 1"


def _slow_rows(shop: ShopCopy) -> None:
    shop.query(
        "CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(0.0003); RETURN NEW; END $$"
    )
    shop.query(
        "CREATE TRIGGER slow BEFORE UPDATE ON orders_order FOR EACH ROW EXECUTE FUNCTION slow_row()"
    )


def _bumped(shop: ShopCopy) -> tuple[int, int, int]:
    """(rows, min, max) of total_cents: (n, 1, 1) when every row was bumped exactly once."""
    row = shop.query("SELECT count(*), min(total_cents), max(total_cents) FROM orders_order")[0]
    return int(row[0]), int(row[1] or 0), int(row[2] or 0)


@pytest.mark.once
def test_non_idempotent_update_applies_once_through_a_crash(shop: ShopCopy) -> None:
    shop.seed(6_000)
    _slow_rows(shop)
    args = ("start", "orders.Order", "--set", BUMP, "--non-idempotent", "--max-batch-size", "300")
    proc = shop.popen(*args)
    wait_for(lambda: shop.done_batches() >= 4, 60, 0.05)
    proc.send_signal(signal.SIGKILL)  # mid-batch: that batch's rows roll back with it
    proc.wait()
    assert shop.query("SELECT count(*) FROM orders_order WHERE total_cents = 1")[0][0] > 0
    result = shop.cli(*args)
    assert result.returncode == 0, result.stderr
    rows = shop.query("SELECT count(*) FROM orders_order")[0][0]
    assert _bumped(shop) == (rows, 1, 1)
    assert shop.query("SELECT remaining FROM schemaops_backfill_run")[0][0] == 0
    again = shop.cli(*args)
    assert "already finished" in again.stdout and _bumped(shop) == (rows, 1, 1)


def test_non_idempotent_sweep_counts_rows_no_batch_covered(
    shop: ShopCopy, redis_available: str
) -> None:
    import redis

    shop.seed(2_000)
    args = ("start", "orders.Order", "--set", BUMP, "--non-idempotent", "--no-wait")
    queue = f"schemaops-nobody-{uuid.uuid4().hex[:8]}"
    try:
        started = shop.cli(*args, "--queue", queue, CELERY_BROKER_URL=REDIS_URL)
    finally:
        redis.Redis.from_url(REDIS_URL).delete(queue)
    assert started.returncode == 0, started.stderr
    top = shop.query("SELECT max(id) FROM orders_order")[0][0]
    shop.query(  # written by old code after the start: no batch will cover them
        "INSERT INTO orders_order (customer_id, created_at, status, total, note)"
        " SELECT customer_id, now(), 'new', 1, '' FROM orders_order LIMIT 7"
    )
    resumed = shop.cli("resume", "1")  # embedded (no broker): runs to the end here
    assert resumed.returncode == 1, resumed.stderr
    assert "7 rows still do not match" in resumed.stderr
    assert (
        shop.query(
            "SELECT count(*) FROM orders_order WHERE id > %s AND total_cents IS NULL", [top]
        )[0][0]
        == 7
    )


def test_cancel_then_start_again_is_refused_for_a_non_idempotent_update(shop: ShopCopy) -> None:
    shop.seed(6_000)
    _slow_rows(shop)
    args = ("start", "orders.Order", "--set", BUMP, "--non-idempotent", "--max-batch-size", "300")
    proc = shop.popen(*args)
    wait_for(lambda: shop.done_batches() >= 3, 60, 0.05)
    assert shop.cli("cancel", "1").returncode == 0
    proc.communicate(timeout=60)
    applied = shop.query("SELECT count(*) FROM orders_order WHERE total_cents = 1")[0][0]
    again = shop.cli(*args)
    assert again.returncode == 2
    assert f"run 1 of this non-idempotent update was cancelled after updating {applied} rows" in (
        again.stderr
    )
    assert shop.query("SELECT count(*) FROM orders_order WHERE total_cents = 2")[0][0] == 0
