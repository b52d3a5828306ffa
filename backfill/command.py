"""The policy behind ``schemaops backfill start``: its options, how they merge with a
Backfill class's own attributes into :class:`RunSettings`, and when a run has stalled.

Django-free at import time, so :mod:`schemaops.cli.backfill` reads its defaults from
:class:`StartOptions` (which reads them from :class:`RunSettings` and
:class:`Thresholds`) without slowing ``--help``: every default is written once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from schemaops.backfill.resilience import DEFAULT_GIVE_UP_SECONDS
from schemaops.backfill.throttle import OnAutovacuum, Thresholds
from schemaops.backfill.tuning import RunSettings
from schemaops.config import ProjectOptions
from schemaops.errors import ConfigError

if TYPE_CHECKING:
    from schemaops.backfill.spec import Spec

STALL_SECONDS = 60.0  # no key done for this long while queued on a broker: re-enqueue


@dataclass(frozen=True)
class StartOptions:
    """Everything ``schemaops backfill start`` takes.

    ``batch_size`` None: the Backfill class's own, else 1,000 clamped to the bounds.
    ``min_batch_size``/``max_batch_size`` None: not given, so they follow a first batch
    size below 100 or above 100,000 instead of refusing it (see :func:`batch_bounds`).
    ``target_duration``, ``lock_timeout`` and ``statement_timeout`` give way to a
    Backfill class's attributes of the same meaning; the command line wins for the rest.
    """

    target: str
    project: ProjectOptions = field(default_factory=ProjectOptions)
    set_values: tuple[str, ...] = ()
    where: str | None = None
    batch_size: int | None = None
    min_batch_size: int | None = None  # None: RunSettings.min_batch_size, or the first size
    max_batch_size: int | None = None  # None: RunSettings.max_batch_size, or the first size
    target_duration: float = RunSettings.target_seconds
    pause: float = RunSettings.pause_seconds
    lock_timeout: str = RunSettings.lock_timeout
    statement_timeout: str = RunSettings.statement_timeout
    max_rows_per_second: float = RunSettings.max_rows_per_second
    max_lag_bytes: int = Thresholds.max_lag_bytes
    max_lag_seconds: float = Thresholds.max_lag_seconds
    on_autovacuum: OnAutovacuum = Thresholds.on_autovacuum
    throttle_hook: str = Thresholds.hook
    lease: float = RunSettings.lease_seconds
    workers: int = RunSettings.concurrency
    queue: str | None = None  # Celery queue; None: the app's default
    wait: bool | None = None  # None: wait when embedded, not with a broker
    interleave: bool = RunSettings.interleave
    verify: bool = True
    non_idempotent: bool = False  # each row exactly once through the ledger (idempotence.py)
    give_up_after: float = DEFAULT_GIVE_UP_SECONDS  # a database outage longer ends a worker
    dry_run: bool = False
    verbose: bool = False


def run_settings(spec: Spec, o: StartOptions) -> RunSettings:
    """The settings the run is stored with: ``o`` merged with ``spec``'s Backfill class."""
    if o.workers < 1:
        raise ConfigError("--workers must be at least 1")
    own = spec.backfill
    batch_size, min_batch_size, max_batch_size = batch_bounds(
        o.batch_size, getattr(own, "batch_size", None), o.min_batch_size, o.max_batch_size
    )
    return RunSettings(
        batch_size=batch_size,
        min_batch_size=min_batch_size,
        max_batch_size=max_batch_size,
        target_seconds=getattr(own, "target_seconds", None) or o.target_duration,
        pause_seconds=o.pause,
        lock_timeout=getattr(own, "lock_timeout", None) or o.lock_timeout,
        statement_timeout=getattr(own, "statement_timeout", None) or o.statement_timeout,
        max_rows_per_second=o.max_rows_per_second,
        lease_seconds=o.lease,
        concurrency=o.workers,
        interleave=o.interleave,
        options={
            "max_lag_bytes": o.max_lag_bytes,
            "max_lag_seconds": o.max_lag_seconds,
            "on_autovacuum": str(o.on_autovacuum),
            "hook": o.throttle_hook,
            "verify": o.verify,
            "give_up_seconds": o.give_up_after,
            "queue": o.queue,  # where live workers re-queue the run's tasks when it stalls
        },
    )


def batch_bounds(
    given: int | None, own: int | None, lo: int | None, hi: int | None
) -> tuple[int, int, int]:
    """(first batch size, min, max) from ``--batch-size`` (``given``), a Backfill class's
    ``batch_size`` (``own``), ``--min-batch-size`` (``lo``) and ``--max-batch-size`` (``hi``).

    A bound that was not given follows the first size: a class that asks for 5 rows a
    batch (its rows are heavy) gets 5 as its floor instead of the default 100, and one
    that asks for 500,000 gets that as its ceiling. A bound that was given is a bound:
    the class's size is clamped into it, and a ``--batch-size`` outside it is an error,
    as is any size or bound below 1. Why not always clamp: a ``--batch-size 50`` next to
    an explicit ``--min-batch-size 100`` is a contradiction the operator should see.
    """
    for name, value in (
        ("--batch-size", given),
        ("--min-batch-size", lo),
        ("--max-batch-size", hi),
    ):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    if own is not None and (not isinstance(own, int) or isinstance(own, bool) or own < 1):
        raise ConfigError(
            f"the Backfill class's batch_size must be a positive integer, got {own!r}"
        )
    if lo is not None and hi is not None and lo > hi:
        raise ConfigError(f"need --min-batch-size <= --max-batch-size, got {lo} > {hi}")
    if given is not None and lo is not None and given < lo:
        raise ConfigError(f"--batch-size {given} is below --min-batch-size {lo}")
    if given is not None and hi is not None and given > hi:
        raise ConfigError(f"--batch-size {given} is above --max-batch-size {hi}")
    # The class's size or the default is clamped into the bounds the operator gave.
    first = given if given is not None else own if own is not None else RunSettings.batch_size
    if lo is not None:
        first = max(first, lo)
    if hi is not None:
        first = min(first, hi)
    low = lo if lo is not None else min(RunSettings.min_batch_size, first)
    high = hi if hi is not None else max(RunSettings.max_batch_size, first)
    return first, low, high


@dataclass
class StallWatch:
    """Says when a run queued on a broker has done no key for ``after`` seconds.

    Its tasks may have been lost on the way; queueing them again is harmless, since
    an extra delivery finds its worker slot taken and returns.
    """

    after: float = STALL_SECONDS
    last_done: int = -1
    last_change: float = field(default_factory=time.monotonic)

    def stalled(self, keys_done: int, now: float) -> bool:
        """True (at most once per ``after`` seconds) when ``keys_done`` has not moved."""
        if keys_done != self.last_done:
            self.last_done, self.last_change = keys_done, now
            return False
        if now - self.last_change > self.after:
            self.last_change = now
            return True
        return False
