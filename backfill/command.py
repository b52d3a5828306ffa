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
    ``target_duration``, ``lock_timeout`` and ``statement_timeout`` give way to a
    Backfill class's attributes of the same meaning; the command line wins for the rest.
    """

    target: str
    project: ProjectOptions = field(default_factory=ProjectOptions)
    set_values: tuple[str, ...] = ()
    where: str | None = None
    batch_size: int | None = None
    min_batch_size: int = RunSettings.min_batch_size
    max_batch_size: int = RunSettings.max_batch_size
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
    return RunSettings(
        batch_size=o.batch_size
        or getattr(own, "batch_size", None)
        or max(o.min_batch_size, min(RunSettings.batch_size, o.max_batch_size)),
        min_batch_size=min(o.min_batch_size, o.batch_size or o.min_batch_size),
        max_batch_size=max(o.max_batch_size, o.batch_size or 0),
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
