"""The worker loop: claim a range, run it as one short transaction, repeat.

One batch = one transaction on the Django connection: ``SET LOCAL lock_timeout``
and ``statement_timeout``, the idempotent UPDATE (or ``Backfill.process``), a count
of sessions blocked behind it, and the batch's checkpoint row, committed together.
A crash anywhere rolls all of it back, so the range is simply claimed again.

:func:`work` is what every Celery task and the embedded mode call. It never
prints: it logs structured ``key=value`` lines on the ``schemaops.backfill`` logger.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from django.db import connections, transaction
from django.db.backends.postgresql.psycopg_any import sql  # the driver Django uses

from schemaops.backfill import ledger, prefetch, replicas, resilience, throttle
from schemaops.backfill import spec as spec_module
from schemaops.backfill.ledger import Claim, Idle, Observation
from schemaops.backfill.spec import Spec

log = logging.getLogger("schemaops.backfill")
LOCK_NAMESPACE = 0x5C0B  # first key of the advisory locks that hold worker slots
FINALIZE_SLOT = 9999
_stop = threading.Event()


def request_stop() -> None:
    """Ask every in-process worker to finish its current batch and return."""
    _stop.set()


@dataclass
class WorkResult:
    reason: str  # finished, failed, paused, cancelled, budget, stopped, slot busy
    batches: int = 0
    rows: int = 0


def fmt(event: str, **fields: Any) -> str:
    """One logfmt line: ``event=batch run=1 rows=100``."""
    parts = [f"event={event}"] + [f"{k}={_quote(v)}" for k, v in fields.items()]
    return " ".join(parts)


def _quote(value: Any) -> str:
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return f'"{text}"' if (" " in text or not text) else text


def work(
    run_id: int, slot: int = 0, alias: str = "default", budget: float | None = None
) -> WorkResult:
    """Process batches of run ``run_id`` as worker ``slot`` until done, stopped or out of time.

    A slot is a session advisory lock, so at most ``concurrency`` workers run per
    run, and a killed worker's slot frees itself when its connection dies. A lost
    connection (a restart of PostgreSQL, a terminated session) is waited out with
    backoff, the slot taken again on the new session; an outage longer than the run's
    ``give_up_seconds`` ends the worker with one ``event=gave-up`` line.
    """
    deadline = time.monotonic() + budget if budget else None
    outage = resilience.Outage(_give_up_seconds.get(run_id, resilience.DEFAULT_GIVE_UP_SECONDS))
    while True:
        try:
            return _work_in_slot(run_id, slot, alias, deadline, outage)
        except Exception as exc:
            if not resilience.is_connection_lost(exc):
                raise
            resilience.drop_connection(alias)
            error = resilience.first_line(exc)
            log.warning(fmt("connection-lost", run=run_id, slot=slot, error=error))
            if _stop.is_set():
                return WorkResult("stopped")
            if not outage.wait(exc):
                _log_give_up(run_id, slot, outage)
                return WorkResult("gave up")


def _log_give_up(run_id: int, slot: int, outage: resilience.Outage) -> None:
    reason = f"database unreachable for {outage.seconds:.0f}s: {outage.last_error}"
    resume = f"schemaops backfill resume {run_id}"
    log.error(fmt("gave-up", run=run_id, slot=slot, reason=reason, resume=resume))


# The give-up time of each run this process has loaded, for outages before the next load.
_give_up_seconds: dict[int, float] = {}


def _work_in_slot(
    run_id: int, slot: int, alias: str, deadline: float | None, outage: resilience.Outage
) -> WorkResult:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, _slot_key(run_id, slot)]
        )
        if not cursor.fetchone()[0]:
            return WorkResult("slot busy")
    try:
        loop = _Loop(run_id, alias, deadline, outage)
        outage.give_up_after = _give_up_seconds[run_id] = loop.give_up_seconds
        return loop.run()
    finally:
        if connections[alias].is_usable():  # a dead session has released its locks
            with connections[alias].cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, _slot_key(run_id, slot)]
                )


def release_own(run_id: int, alias: str, worker: str | None = None) -> int:
    """Make pending every batch of the run still marked running by ``worker`` once it has
    returned (default: by any worker of this process, once all have returned), so a
    stopped worker leaves no batch running. Returns how many."""
    # Any worker of this process: the part of the name before the thread, compared as text.
    whose = "worker = %s" if worker else "left(worker, length(%s)) = %s"
    mine = [worker] if worker else [f"{socket.gethostname()}:{os.getpid()}:"] * 2
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "UPDATE schemaops_backfill_batch SET state = 'pending', lease_token = NULL,"
            " available_at = now(), attempts = greatest(attempts - 1, 0)"
            " WHERE run_id = %s AND state = 'running' AND " + whose,
            [run_id, *mine],
        )
        released = int(cursor.rowcount)
    if released:
        log.info(fmt("released", run=run_id, batches=released))
    return released


def _slot_key(run_id: int, slot: int) -> int:
    return (run_id * 10007 + slot) % 2_147_483_647


class _Loop:
    def __init__(
        self, run_id: int, alias: str, deadline: float | None, outage: resilience.Outage
    ) -> None:
        self.run_id, self.alias, self.deadline, self.outage = run_id, alias, deadline, outage
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"
        run = _load_run(run_id, alias)
        self.spec: Spec = spec_module.load(run)
        self.timeouts = (f"{run.lock_timeout_ms}ms", f"{run.statement_timeout_ms}ms")
        self.give_up_seconds = float(
            run.options.get("give_up_seconds", resilience.DEFAULT_GIVE_UP_SECONDS)
        )
        self.pause, self.target, self.parts = run.pause_seconds, run.target_seconds, run.parts
        self.health = _Health(run, self.spec, alias)
        self.seen: Observation | None = None  # the last batch, until a claim is fed with it
        self.state = "active"  # the run's state as the last checkpoint read it
        self.ahead = prefetch.Ahead(run_id, alias, self.worker)
        self.result = WorkResult("stopped")

    def run(self) -> WorkResult:
        try:
            return self._loop()
        finally:
            self.ahead.close()
            if connections[self.alias].is_usable():  # else its session ended: taken over
                release_own(self.run_id, self.alias, self.worker)

    def _loop(self) -> WorkResult:
        while not _stop.is_set():
            if self.deadline and time.monotonic() > self.deadline:
                self.result.reason = "budget"
                break
            decision = self.health.check()
            if decision.action == throttle.HOLD:
                self._drop_ahead()
                state = _run_state(self.run_id, self.alias)
                if state != "active":  # paused or cancelled while held
                    self.result.reason = state
                    break
                time.sleep(1.0)
                continue
            step = self._next_claim()
            self.outage.over()  # the database answered
            if isinstance(step, Idle):
                if step.state == "busy":
                    time.sleep(0.2)
                    continue
                self.result.reason = (
                    finish(self.run_id, self.alias) if step.state == "drained" else step.state
                )
                break
            _wait_for_slot(step)
            self.ahead.start(self._feed(), step.batch_id)  # the next range, claimed meanwhile
            seconds = self._run_batch(step)
            if decision.action == throttle.SLOW:
                time.sleep(seconds)  # nice ratio 1: as long as the batch took
            if self.pause:
                time.sleep(self.pause)
        return self.result

    def _next_claim(self) -> Claim | Idle:
        """The claim made ahead while the last batch ran, if it still fits; else claim now."""
        step = self.ahead.take()
        if isinstance(step, Claim):
            if self.state == "active" and not prefetch.must_shrink(self.seen, self.target):
                return step
            # Paused or cancelled while the batch ran, the batch failed (state unknown),
            # or it was cut before the last batch asked for smaller ones.
            self.ahead.release(step)
            if self.state not in ("active", ""):
                return Idle(self.state)
        return self._claim()

    def _drop_ahead(self) -> None:
        step = self.ahead.take()
        if isinstance(step, Claim):
            self.ahead.release(step)

    def _feed(self) -> Observation | None:
        """The last batch's observation, handed to exactly one claim."""
        seen, self.seen = self.seen, None
        return seen

    def _claim(self) -> Claim | Idle:
        return prefetch.claim_now(self.run_id, self.alias, self.worker, self._feed())

    def _run_batch(self, claim: Claim) -> float:
        started, self.state = time.monotonic(), ""  # known again once the checkpoint commits
        try:
            rows, waiters, self.state = run_batch(
                self.spec, claim, self.alias, self.timeouts, self.parts
            )
        except _LeaseLost:
            log.warning(fmt("lease-lost", run=self.run_id, batch=claim.batch_id))
            return 0.0
        except Exception as exc:  # the user's SQL or Python may raise anything
            if resilience.is_connection_lost(exc):
                raise  # not the batch's fault: work() reconnects, the range is taken over
            seconds = time.monotonic() - started
            self._failed(claim, exc, seconds)
            return seconds
        seconds = time.monotonic() - started
        self.seen = Observation(claim.size, seconds, waiters=waiters)
        self.result.batches += 1
        self.result.rows += rows
        log.info(
            fmt(
                "batch",
                run=self.run_id,
                batch=claim.batch_id,
                lo=claim.rng.lo,
                hi=claim.rng.hi,
                part=f"{claim.part}/{self.parts}",
                rows=rows,
                seconds=seconds,
                waiters=waiters,
                worker=self.worker,
            )
        )
        if waiters:
            log.info(
                fmt(
                    "throttle",
                    run=self.run_id,
                    action="shrink",
                    reason=f"{waiters} sessions waited on batch locks",
                )
            )
        return seconds

    def _failed(self, claim: Claim, exc: Exception, seconds: float) -> None:
        code = resilience.sqlstate(exc)
        timed_out = code in ledger.TIMEOUT_CODES
        message = (
            f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        )
        _reconnect_if_broken(self.alias)
        with transaction.atomic(using=self.alias), connections[self.alias].cursor() as cursor:
            outcome = ledger.record_failure(cursor, claim, code, message, self.spec.keyset)
        self.seen = Observation(claim.size, seconds, timed_out=timed_out)
        log.warning(
            fmt(
                "batch-error",
                run=self.run_id,
                batch=claim.batch_id,
                lo=claim.rng.lo,
                hi=claim.rng.hi,
                code=code or "-",
                outcome=outcome,
                error=message,
            )
        )


def _reconnect_if_broken(alias: str) -> None:
    """Drop the connection only when it no longer works (the server ended the session).

    Not ``close_if_unusable_or_obsolete``: with the default ``CONN_MAX_AGE = 0`` it closes
    a healthy connection after every error, and a batch whose session is gone looks
    abandoned to other claims before its failure is recorded.
    """
    connection = connections[alias]
    if connection.connection is not None and not connection.is_usable():
        connection.close()


def _wait_for_slot(claim: Claim) -> None:
    """Sleep until the claim's turn in the run's global rate schedule."""
    if claim.slot_at is not None:
        wait = (claim.slot_at - datetime.now(UTC)).total_seconds()
        if wait > 0:
            time.sleep(wait)


class _LeaseLost(Exception):
    """Another worker took this range over; this transaction must roll back."""


def run_batch(
    spec: Spec, claim: Claim, alias: str, timeouts: tuple[str, str], parts: int = 1
) -> tuple[int, int, str]:
    """Apply one range (or part of one) and its checkpoint in one transaction; returns
    (rows, lock waiters, the run's state)."""
    with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
        rows = apply_range(spec, claim.rng, cursor, timeouts, claim.part, parts)
        done = ledger.checkpoint(cursor, claim, rows)
        if done is None:
            raise _LeaseLost()
    return rows, *done


# A frozen worker (stopped, swapping, stuck in a debugger) must not keep its batch's row
# locks: the server ends a batch session that sits idle inside its transaction this long,
# and the batch is taken over at once (its session left pg_stat_activity). The SQL form
# sends its statements back to back; a Python form may compute between them.
IDLE_IN_BATCH = {"sql": "1s", "python": "10s"}


def apply_range(
    spec: Spec, rng: Any, cursor: Any, timeouts: tuple[str, str], part: int = 0, parts: int = 1
) -> int:
    """Set the transaction's timeouts and run the update of one key range, or of one of its
    interleaved parts (one round trip for the SQL form), inside the caller's transaction."""
    # Asynchronous commit is safe here: rows and checkpoint are lost or kept together,
    # and a lost batch is simply claimed again.
    local = sql.SQL(
        "SET LOCAL synchronous_commit = off; SET LOCAL lock_timeout = {};"
        " SET LOCAL statement_timeout = {}; SET LOCAL idle_in_transaction_session_timeout = {}; "
    ).format(*map(sql.Literal, (*timeouts, IDLE_IN_BATCH[spec.kind])))
    if spec.backfill is not None:
        cursor.execute(local.as_string(cursor.connection))
        # On the batch's own connection (the run's database), whatever the routers say:
        # rows and checkpoint must commit in one transaction.
        queryset = spec.backfill.queryset().using(cursor.db.alias)
        queryset = queryset.filter(pk__gte=rng.lo, pk__lt=rng.hi)
        return int(spec.backfill.process(queryset) or 0)
    statement = local + spec_module.batch_statement(spec, rng, part, parts)
    cursor.execute(statement.as_string(cursor.connection))
    ledger.to_last_result(cursor)
    return int(cursor.rowcount)


def _run_state(run_id: int, alias: str) -> str:
    """The run's state; a worker held by a health signal also says it is alive."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "UPDATE schemaops_backfill_run SET heartbeat_at = now() WHERE id = %s RETURNING state",
            [run_id],
        )
        row = cursor.fetchone()
    return str(row[0]) if row else "cancelled"


def _load_run(run_id: int, alias: str) -> Any:
    from schemaops.backfill.models import Run

    return Run.objects.using(alias).get(pk=run_id)


class _Health:
    """Signals, read at most once a second; logs every decision that is not "go"."""

    def __init__(self, run: Any, spec: Spec, alias: str) -> None:
        self.run_id, self.alias, self.table = run.pk, alias, spec.db_table
        self.limits = throttle.Thresholds.from_options(run.options)
        self.hook = _hook(self.limits.hook, spec)
        self.checked = 0.0
        self.decision = throttle.Decision(throttle.GO)
        self.standbys = replicas.standbys_of(alias)  # the project's replicas of this server
        # What the run row says is this worker's to set: a worker before it may have
        # stored a hold or slow that no longer holds (paused while held, then resumed).
        self.stored: throttle.Decision | None = None

    def check(self) -> throttle.Decision:
        if time.monotonic() - self.checked < 1.0:
            return self.decision
        self.checked = time.monotonic()
        with connections[self.alias].cursor() as cursor:
            signals = self._with_replicas(throttle.read_signals(cursor, self.table, self.hook))
            decision = throttle.decide(signals, self.limits)
            if decision != self.stored:
                _set_throttle_state(cursor, self.run_id, decision)
                self.stored = decision
        if decision.action != throttle.GO or decision != self.decision:
            log.info(
                fmt(
                    "throttle",
                    run=self.run_id,
                    action=decision.action,
                    reason=decision.reason or "healthy",
                    lag_bytes=signals.lag_bytes,
                    lag_seconds=signals.lag_seconds,
                    autovacuum=signals.autovacuum,
                )
            )
        self.decision = decision
        return decision

    def _with_replicas(self, signals: throttle.Signals) -> throttle.Signals:
        """The primary's view of its standbys, or a configured replica's if it is further
        behind (one the primary does not list: cascaded, receiver down)."""
        nbytes, seconds, which = replicas.lag(self.alias, self.standbys)
        if nbytes <= signals.lag_bytes and seconds <= signals.lag_seconds:
            return signals
        return replace(
            signals,
            lag_bytes=max(nbytes, signals.lag_bytes),
            lag_seconds=max(seconds, signals.lag_seconds),
            lag_source=which,
        )


def _hook(path: str, spec: Spec) -> Callable[[], str | None] | None:
    if path:
        return throttle.load_hook(path)
    from schemaops.backfill.base import Backfill

    own = spec.backfill
    if own is not None and type(own).throttle is not Backfill.throttle:
        return own.throttle
    return None


def _set_throttle_state(cursor: Any, run_id: int, decision: throttle.Decision) -> None:
    state = "normal" if decision.action == throttle.GO else decision.action
    cursor.execute(
        "UPDATE schemaops_backfill_run SET throttle_state = %s, throttle_reason = %s WHERE id = %s",
        [state, decision.reason, run_id],
    )


def finish(run_id: int, alias: str) -> str:
    """Last worker out: sweep for rows still not matching, then mark the run finished."""
    from schemaops.backfill import verify

    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, %s)",
            [LOCK_NAMESPACE, _slot_key(run_id, FINALIZE_SLOT)],
        )
        if not cursor.fetchone()[0]:
            return "busy"
        try:
            return verify.finalize(run_id, alias)
        finally:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s, %s)",
                [LOCK_NAMESPACE, _slot_key(run_id, FINALIZE_SLOT)],
            )
