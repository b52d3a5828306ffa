"""Keeping going without a person: lost sessions, claims behind a stuck claim, stalled runs."""

from __future__ import annotations

import time
import uuid
from typing import Any

from backfill_support import SET_CENTS, ShopCopy, admin

from schemaops.backfill import control, prefetch, resilience
from schemaops.backfill.ledger import Claim, Idle


def _queued_run(shop: ShopCopy, *options: str) -> None:
    """Run 1, active, its task on a queue nobody reads (Redis, removed again at once)."""
    import redis
    from backfill_support import REDIS_URL

    queue = f"schemaops-nobody-{uuid.uuid4().hex[:8]}"
    args = ("start", "orders.Order", "--set", SET_CENTS, "--queue", queue, "--no-wait")
    result = shop.cli(*args, *options, CELERY_BROKER_URL=REDIS_URL)
    redis.Redis.from_url(REDIS_URL).delete(queue)
    assert result.returncode == 0, result.stderr


def _error_of(alias: str, statement: str) -> BaseException:
    from django.db import connections, transaction

    try:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(statement)
    except Exception as exc:
        return exc
    raise AssertionError(f"{statement} did not fail")


def test_a_terminated_session_is_a_lost_connection_and_timeouts_are_not(
    shop: ShopCopy, copy_alias: str
) -> None:
    from django.db import connections

    shop.seed(10)
    locker = shop.connect()
    locker.autocommit = False
    with locker.cursor() as cur:
        cur.execute("SELECT id FROM orders_order WHERE id = 1 FOR UPDATE")
    lock_wait = _error_of(
        copy_alias,
        "SET LOCAL lock_timeout = '50ms'; UPDATE orders_order SET note = 'x' WHERE id = 1",
    )
    locker.rollback()
    slow = _error_of(copy_alias, "SET LOCAL statement_timeout = '50ms'; SELECT pg_sleep(1)")
    assert resilience.sqlstate(lock_wait) == "55P03" and resilience.sqlstate(slow) == "57014"
    assert not resilience.is_connection_lost(lock_wait)
    assert not resilience.is_connection_lost(slow)

    with connections[copy_alias].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with admin().cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    terminated = _error_of(copy_alias, "SELECT 1")
    assert resilience.is_connection_lost(terminated)
    resilience.drop_connection(copy_alias)
    with connections[copy_alias].cursor() as cursor:  # a new session, at once
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid


def test_outage_backs_off_and_gives_up_after_its_time() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    outage = resilience.Outage(give_up_after=10.0, sleep=sleep, clock=lambda: now[0])
    error = ConnectionError("server closed the connection unexpectedly")
    while outage.wait(error):
        pass
    assert 10.0 <= now[0] < 10.5 and outage.seconds >= 10.0
    assert slept[0] < slept[1] < slept[2] and max(slept) <= 5.0 * 1.2
    assert outage.last_error.startswith("ConnectionError: server closed")
    outage.over()
    assert outage.wait(error) and outage.attempts == 1


def test_a_claim_never_waits_behind_a_claim_that_holds_the_run_row(
    shop: ShopCopy, copy_alias: str, redis_available: str
) -> None:
    shop.seed(3_000)
    _queued_run(shop)
    stuck = shop.connect()
    stuck.autocommit = False
    with stuck.cursor() as cur:  # a claim whose worker froze with the run row locked
        cur.execute("SELECT id FROM schemaops_backfill_run WHERE id = 1 FOR UPDATE")
    started = time.monotonic()
    step = prefetch.claim_now(1, copy_alias, "test", None)
    waited = time.monotonic() - started
    assert step == Idle("busy") and waited < 1.0
    stuck.rollback()
    assert isinstance(prefetch.claim_now(1, copy_alias, "test", None), Claim)
    stuck.close()


def test_a_frozen_claim_transaction_is_ended_by_the_server(
    shop: ShopCopy, copy_alias: str, redis_available: str
) -> None:
    """The claim's session ends a transaction left idle (its worker frozen), so the run
    row it locked is free again for every other worker."""
    shop.seed(1_000)
    _queued_run(shop)
    waited, error = _freeze_in_a_claim(shop, copy_alias)
    assert 1.5 < waited < 4.0
    assert resilience.is_connection_lost(error)
    resilience.drop_connection(copy_alias)


def _freeze_in_a_claim(shop: ShopCopy, alias: str) -> tuple[float, BaseException]:
    """Lock the run row as a claim does, then sit idle while another session waits for it;
    returns how long that one waited and what the frozen session met when it woke up."""
    from django.db import connections, transaction

    frozen_at = time.monotonic()
    try:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(
                "SET LOCAL idle_in_transaction_session_timeout = %s",
                [prefetch.CLAIM_IDLE_TIMEOUT],
            )
            cursor.execute("SELECT id FROM schemaops_backfill_run WHERE id = 1 FOR UPDATE")
            other = shop.connect()
            with other.cursor() as cur:  # another worker's claim gets the row once it ends
                cur.execute("SET lock_timeout = '5s'")
                cur.execute("SELECT id FROM schemaops_backfill_run WHERE id = 1 FOR UPDATE")
            other.close()
            waited = time.monotonic() - frozen_at
            cursor.execute("SELECT 1")  # the frozen worker wakes up: its session is gone
    except Exception as exc:
        return waited, exc
    raise AssertionError("the frozen claim's session was not ended")


def test_a_run_nobody_works_on_shows_as_stalled_and_is_requeued_once(
    shop: ShopCopy, copy_alias: str, redis_available: str
) -> None:
    shop.seed(1_000)
    _queued_run(shop, "--lease", "1")
    assert control.status(1, copy_alias)[0].state == "active"
    time.sleep(2.2)  # two leases without a claim
    status: Any = control.status(1, copy_alias)[0]
    assert status.state == "stalled"
    assert "no worker has started for" in status.stalled
    assert "schemaops backfill resume 1" in status.stalled
    shown = shop.cli("status", "1", "--format", "json")
    assert '"state": "stalled"' in shown.stdout, shown.stderr
    assert [run_id for run_id, _, _ in control.take_stalled(copy_alias)] == [1]
    assert control.take_stalled(copy_alias) == []  # marked alive: one re-queue per stall
    assert control.status(1, copy_alias)[0].state == "active"
