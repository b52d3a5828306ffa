"""Apply a plan with timeouts and retries, one migration at a time, never half-applied.

Each migration runs through Django's own ``MigrationExecutor`` with a
:class:`~schemaops.apply.guard.StatementGuard` installed and ``lock_timeout``
/ ``statement_timeout`` set on the session before it starts:

* an atomic migration is one transaction, its ``django_migrations`` row
  included; on a lock timeout (SQLSTATE 55P03) the transaction is rolled back
  and the whole migration retried after a backoff with jitter;
* a non-atomic migration retries the statement that timed out, and resumes
  idempotently (see the guard).

When the retries run out, or any other error happens, :class:`RunFailed` is
raised naming the migration; everything before it stays applied and
recorded, nothing of an atomic migration is left behind. Progress goes to
``emit(event, data)``; nothing here prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemaops.apply.blockers import Blocker, BlockerWatch, describe_all
from schemaops.apply.guard import StatementGuard, backend_pid
from schemaops.apply.planning import ApplyPlan, Planned
from schemaops.apply.retry import Backoff, is_lock_timeout
from schemaops.errors import ConfigError, RunFailed
from schemaops.trace.tracer import first_line

Emit = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Timeouts:
    lock_timeout: str = "5s"
    statement_timeout: str = "0"


@dataclass
class Applied:
    label: str
    phase: str
    duration_ms: float
    attempts: int
    locks: list[tuple[str, str]] = field(default_factory=list)  # (table, pg_locks mode)


def set_timeouts(connection: Any, timeouts: Timeouts) -> None:
    """Session-level, so every statement of every following transaction gets them."""
    from django.db import DatabaseError

    try:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT set_config('lock_timeout', %s, false), "
                "set_config('statement_timeout', %s, false)",
                [timeouts.lock_timeout, timeouts.statement_timeout],
            )
    except DatabaseError as exc:
        raise ConfigError(f"invalid timeout: {first_line(exc)}") from None


class Applier:
    def __init__(
        self,
        executor: Any,
        params: dict[str, Any],
        timeouts: Timeouts,
        backoff: Backoff,
        emit: Emit | None = None,
    ) -> None:
        self.executor = executor
        self.connection = executor.connection
        self.params = params  # libpq params of the same database (lock sampling, index repair)
        self.timeouts = timeouts
        self.backoff = backoff
        self.emit = emit or (lambda event, data: None)
        self.sleep = time.sleep

    def apply(self, plan: ApplyPlan) -> list[Applied]:
        set_timeouts(self.connection, self.timeouts)
        self.executor.recorder.ensure_schema()
        state = None
        self.done: list[Applied] = []  # what is applied so far, also when a later one fails
        for item in plan.items:
            applied, state = self._apply_one(item, state)
            self.done.append(applied)
        return self.done

    def _apply_one(self, item: Planned, state: Any) -> tuple[Applied, Any]:
        self.emit("start", {"migration": item.label, "phase": item.phase, "atomic": item.atomic})
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            set_timeouts(self.connection, self.timeouts)  # also after a reconnect
            guard = StatementGuard(self.connection, self.params, self.backoff, self._relay(item))
            guard.sleep = self.sleep
            guard.watch = watch = BlockerWatch(self.params, backend_pid(self.connection))
            try:
                with watch:
                    new_state = self._run(item, guard, state.clone() if state is not None else None)
                break
            except Exception as exc:
                blockers = watch.take() if is_lock_timeout(exc) else []
                if item.atomic and is_lock_timeout(exc) and attempt <= self.backoff.retries:
                    delay = self.backoff.delay(attempt)
                    self._relay(item)(
                        "retry",
                        {
                            "attempt": attempt,
                            "of": self.backoff.retries,
                            "delay": delay,
                            "scope": "migration",
                            "error": first_line(exc),
                            "blockers": [b.as_json() for b in blockers],
                            "blocked_by": describe_all(blockers),
                        },
                    )
                    self.sleep(delay)
                    continue
                raise self._failure(item, exc, attempt, blockers) from None
        elapsed = (time.perf_counter() - started) * 1000
        result = Applied(item.label, item.phase, elapsed, attempt, sorted(guard.locks))
        self.emit("done", {"migration": item.label, "result": result})
        return result, new_state

    def _run(self, item: Planned, guard: StatementGuard, state: Any) -> Any:
        with self.connection.execute_wrapper(guard):
            return self.executor.migrate([item.key], plan=[(item.migration, False)], state=state)

    def _relay(self, item: Planned) -> Emit:
        def relay(event: str, data: dict[str, Any]) -> None:
            self.emit(event, {"migration": item.label, **data})

        return relay

    def _failure(
        self, item: Planned, exc: Exception, attempts: int, blockers: list[Blocker]
    ) -> RunFailed:
        what = "lock timeout" if is_lock_timeout(exc) else "error"
        if blockers:
            what += f", {describe_all(blockers)}"
        tail = (
            "rolled back, nothing of it applied"
            if item.atomic
            else "non-atomic: statements before the failing one stay applied; "
            "re-run to resume (index builds are resumed idempotently)"
        )
        return RunFailed(
            f"{item.label} failed after {attempts} attempt(s) ({what}: {first_line(exc)}); "
            f"{tail}; it is not recorded in django_migrations"
        )
