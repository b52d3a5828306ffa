"""Claim the next range on a second connection while the current batch runs.

A claim is a few short statements (lock the run row, look for a retriable batch,
probe the index for the next boundary, record the batch): about 5-10 ms that the
worker would otherwise spend between batches, ~1.5 s over a 5-million-row table.
:class:`Ahead` runs it on its own thread (so its own Django connection) while the
worker's connection is busy with the batch, and hands the claim over afterwards.

The claim made ahead only knows the batch before the current one, so the adaptive
size lags one batch. When the current batch says "shrink now" (it timed out, made
someone wait, or took over twice the target), the worker releases the claim made
ahead and claims again, so the halving is never late. A claim made ahead is also
released when the run was paused or cancelled meanwhile (the batch's checkpoint
reads the run's state in the same round trip), when the batch failed, when the
worker holds on a health signal, and when it stops.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import DatabaseError, connections, transaction

from schemaops.backfill import ledger, resilience
from schemaops.backfill.ledger import Claim, Idle, Observation


class Ahead:
    """At most one claim in flight, made by a helper thread with its own connection."""

    def __init__(self, run_id: int, alias: str, worker: str) -> None:
        self.run_id, self.alias, self.worker = run_id, alias, worker
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="schemaops-claim")
        self.future: Future[Claim | Idle] | None = None

    def start(self, seen: Observation | None, in_flight: int) -> None:
        """Begin claiming the next range (feeding ``seen`` to the adaptive size) while the
        worker runs batch ``in_flight``, which the claim must never take over."""
        self.future = self.pool.submit(self._claim, seen, in_flight)

    def take(self) -> Claim | Idle | None:
        """The claim made ahead (waiting for it), or None when there is none."""
        future, self.future = self.future, None
        return None if future is None else future.result()

    def release(self, claim: Claim) -> str:
        """Give back a claim this worker will not run (on the worker's own connection)."""
        with transaction.atomic(using=self.alias), connections[self.alias].cursor() as cursor:
            return ledger.release(cursor, self.run_id, claim)

    def close(self) -> None:
        """Release an untaken claim, close the helper's connection and stop its thread.

        After a lost connection there is nothing to release: the claim's session is
        gone, so its batch is taken over by the next claim anywhere.
        """
        try:
            step = self.take()
            if isinstance(step, Claim):
                self.release(step)
        except Exception as exc:
            if not resilience.is_connection_lost(exc):
                raise
        finally:
            self.pool.submit(connections.close_all).result()
            self.pool.shutdown(wait=True)

    def _claim(self, seen: Observation | None, in_flight: int) -> Claim | Idle:
        return claim_now(self.run_id, self.alias, self.worker, seen, in_flight)


# A claim holds the run row's lock for a few milliseconds. One that cannot get it this
# fast is behind a claim that stalled (its worker frozen): report "busy" and try again,
# rather than queue behind it. A claim transaction left idle by a frozen worker is
# ended by the server, which releases the run row for everyone else.
CLAIM_LOCK_TIMEOUT = "250ms"
CLAIM_IDLE_TIMEOUT = "2s"
LOCK_NOT_AVAILABLE = "55P03"


def claim_now(
    run_id: int, alias: str, worker: str, seen: Observation | None, in_flight: int | None = None
) -> Claim | Idle:
    """One claim in its own transaction on this thread's connection; ``Idle("busy")``
    when another claim holds the run row longer than :data:`CLAIM_LOCK_TIMEOUT`."""
    try:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            cursor.execute(
                "SET LOCAL lock_timeout = %s; SET LOCAL idle_in_transaction_session_timeout = %s",
                [CLAIM_LOCK_TIMEOUT, CLAIM_IDLE_TIMEOUT],
            )
            return ledger.claim(cursor, run_id, worker, seen, in_flight)
    except DatabaseError as exc:
        if resilience.sqlstate(exc) != LOCK_NOT_AVAILABLE:
            raise
        return Idle("busy")


def must_shrink(seen: Observation | None, target_seconds: float) -> bool:
    """Whether the last batch asks for a smaller next one at once (see ledger._adapt)."""
    if seen is None or seen.size is None:
        return False
    return seen.timed_out or bool(seen.waiters) or seen.seconds > 2 * target_seconds


def run_state(cursor: Any, run_id: int) -> str:
    cursor.execute("SELECT state FROM schemaops_backfill_run WHERE id = %s", [run_id])
    row = cursor.fetchone()
    return str(row[0]) if row else "cancelled"
