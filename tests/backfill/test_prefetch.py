"""Claims made ahead of time: giving a claim back, and the embedded run using them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from backfill_support import (
    SET_CENTS,
    ShopCopy,
    assert_exactly_once,
    driver_connect,
    transaction,
)

from schemaops.backfill import ledger
from schemaops.backfill.ledger import Claim, Observation
from schemaops.backfill.prefetch import must_shrink


def _queued_run(shop: ShopCopy, redis_available: str, *options: str) -> None:
    """Run 1 of orders.Order, active, no batch yet: its task went to a queue nobody reads
    (removed from Redis again at once). One part per range unless ``--interleave``."""
    import redis

    shop.env["CELERY_BROKER_URL"] = redis_available
    queue = f"schemaops-nobody-{uuid.uuid4().hex[:8]}"
    args = ("start", "orders.Order", "--set", SET_CENTS, "--batch-size", "500", "--queue", queue)
    result = shop.cli(*args, "--no-wait", *(options or ("--no-interleave",)))
    redis.Redis.from_url(redis_available).delete(queue)
    assert result.returncode == 0, result.stderr


@contextmanager
def _queued(shop: ShopCopy, redis_available: str, *options: str) -> Iterator[Any]:
    """3,000 orders and a queued run (see _queued_run); yields a driver connection."""
    shop.seed(3_000)
    _queued_run(shop, redis_available, *options)
    conn = driver_connect(shop)
    try:
        yield conn
    finally:
        conn.close()


def _claim(conn: Any, in_flight: int | None = None) -> Claim:
    with transaction(conn) as cur:
        step = ledger.claim(cur, 1, "test", None, in_flight)
    assert isinstance(step, Claim)
    return step


def _release(conn: Any, claim: Claim) -> str:
    with transaction(conn) as cur:
        return ledger.release(cur, 1, claim)


def test_release_uncuts_the_last_range_or_makes_it_pending(
    shop: ShopCopy, redis_available: str
) -> None:
    with _queued(shop, redis_available) as conn:
        first, second = _claim(conn), _claim(conn)
        assert first.rng.hi == second.rng.lo
        # The first range is no longer the last one cut: it becomes pending, uncounted.
        assert _release(conn, first) == "pending"
        assert shop.query(
            "SELECT state, attempts, lease_token FROM schemaops_backfill_batch WHERE id = %s",
            [first.batch_id],
        ) == [("pending", 0, None)]
        # The last range cut is removed and the run's cursor moves back to its start.
        assert _release(conn, second) == "uncut"
        assert shop.query("SELECT next_lo FROM schemaops_backfill_run") == [(second.rng.lo,)]
        assert shop.query(
            "SELECT count(*) FROM schemaops_backfill_batch WHERE id = %s", [second.batch_id]
        ) == [(0,)]
        assert _release(conn, second) == "lease lost"  # twice is harmless
        # The next claims take the pending range back first, then cut the same range again.
        again = _claim(conn)
        assert (again.batch_id, again.rng) == (first.batch_id, first.rng)
        assert _claim(conn).rng.lo == second.rng.lo


def test_must_shrink_follows_the_adaptive_rules() -> None:
    assert not must_shrink(None, 0.1)
    assert not must_shrink(Observation(1000, 0.15), 0.1)
    assert must_shrink(Observation(1000, 0.25), 0.1)
    assert must_shrink(Observation(1000, 0.01, timed_out=True), 0.1)
    assert must_shrink(Observation(1000, 0.01, waiters=1), 0.1)
    assert not must_shrink(Observation(None, 5.0), 0.1)  # a retried range says nothing


def test_embedded_run_with_claims_made_ahead_counts_every_range_once(shop: ShopCopy) -> None:
    shop.seed(20_000)
    result = shop.cli("start", "orders.Order", "--set", SET_CENTS, "--max-batch-size", "700")
    assert result.returncode == 0, result.stderr
    assert shop.wrong_rows() == 0
    assert_exactly_once(shop, 1, 20_000 + 2_000 - 22_000 // 11)
    # Every claim made ahead was either run or given back: nothing is left running.
    assert shop.query("SELECT count(*) FROM schemaops_backfill_batch WHERE state <> 'done'") == [
        (0,)
    ]
    workers = shop.query("SELECT count(DISTINCT worker) FROM schemaops_backfill_batch")
    assert workers == [(1,)]


def test_checkpoint_reads_the_run_state_for_the_claim_made_ahead(
    shop: ShopCopy, redis_available: str
) -> None:
    with _queued(shop, redis_available) as conn:
        first = _claim(conn)
        with transaction(conn) as cur:
            assert ledger.checkpoint(cur, first, 0) == (0, "active")
        second = _claim(conn)
        shop.query("UPDATE schemaops_backfill_run SET state = 'paused'")
        with transaction(conn) as cur:
            assert ledger.checkpoint(cur, second, 0) == (0, "paused")
            assert ledger.checkpoint(cur, second, 0) is None  # done: the lease is gone


def test_a_claim_made_ahead_never_takes_over_the_batch_in_flight(
    shop: ShopCopy, redis_available: str
) -> None:
    with _queued(shop, redis_available) as conn:
        running = _claim(conn)
        # Its session looks gone (as when the worker's connection is replaced after an
        # error): any other claim may take it over, the worker's own claim ahead may not.
        shop.query(
            "UPDATE schemaops_backfill_batch SET backend_pid = 0 WHERE id = %s",
            [running.batch_id],
        )
        ahead = _claim(conn, in_flight=running.batch_id)
        assert ahead.batch_id != running.batch_id and ahead.rng.lo == running.rng.hi
        other = _claim(conn)
        assert (other.batch_id, other.rng) == (running.batch_id, running.rng)
        assert shop.query(
            "SELECT attempts FROM schemaops_backfill_batch WHERE id = %s", [running.batch_id]
        ) == [(2,)]


def test_a_range_is_handed_out_part_by_part(shop: ShopCopy, redis_available: str) -> None:
    shop.seed(3_000)
    _queued_run(shop, redis_available, "--interleave")
    assert shop.query("SELECT parts FROM schemaops_backfill_run") == [(2,)]
    conn = driver_connect(shop)
    try:
        first = _claim(conn)
        assert first.part == 0 and first.size == 500
        (keys,) = shop.query(
            "SELECT count(*) FROM orders_order WHERE id >= %s AND id < %s",
            [first.rng.lo, first.rng.hi],
        )[0]
        assert keys == 1_000  # cut for 500 rows per part
        # While the even keys run, their odd keys wait: the claim made ahead cuts on.
        second = _claim(conn, in_flight=first.batch_id)
        assert (second.part, second.rng.lo) == (0, first.rng.hi)
        with transaction(conn) as cur:
            assert ledger.checkpoint(cur, first, 500) == (0, "active")
        odd = _claim(conn, in_flight=second.batch_id)
        assert (odd.part, odd.rng, odd.size) == (1, first.rng, None)
        # Given back while its odd part still waits untaken: the range is cut again.
        assert _release(conn, second) == "uncut"
        assert shop.query(
            "SELECT count(*) FROM schemaops_backfill_batch WHERE lo = %s", [second.rng.lo]
        ) == [(0,)]
        again = _claim(conn)
        assert (again.part, again.rng) == (0, second.rng)
        # Once its odd part is taken (here: by another worker), giving the even part
        # back only makes it pending.
        shop.query(
            "UPDATE schemaops_backfill_batch SET state = 'running', attempts = 1"
            " WHERE lo = %s AND part = 1",
            [again.rng.lo],
        )
        assert _release(conn, again) == "pending"
        assert shop.query(
            "SELECT part, state FROM schemaops_backfill_batch WHERE lo = %s ORDER BY part",
            [again.rng.lo],
        ) == [(0, "pending"), (1, "running")]
    finally:
        conn.close()
