"""Updates that are not safe to run twice, and a second ``start`` with other settings."""

from __future__ import annotations

import uuid

import pytest
from backfill_support import REDIS_URL, SET_CENTS, ShopCopy

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
