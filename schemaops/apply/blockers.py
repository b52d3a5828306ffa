"""Who blocks a migration: the sessions it waits for while a lock timeout runs out.

Once ``lock_timeout`` fires the wait is over and PostgreSQL no longer says
who was in the way, so a thread with a connection of its own asks
``pg_blocking_pids()`` for the migration's backend while it runs and keeps
the last answer. The retry line and the failure then name each blocker: pid,
application_name, state, how long its transaction has been open, when its
query started, and the start of that query.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

from schemaops.db import connect

BLOCKERS_SQL = """
SELECT pid, coalesce(application_name, ''), coalesce(state, ''),
       extract(epoch FROM now() - coalesce(xact_start, backend_start))::float,
       query_start, left(regexp_replace(coalesce(query, ''), '\\s+', ' ', 'g'), 80)
FROM pg_stat_activity WHERE pid = ANY(pg_blocking_pids(%s)) ORDER BY pid
"""


@dataclass(frozen=True)
class Blocker:
    """A session holding a lock the migration waits for."""

    pid: int
    application_name: str
    state: str
    seconds: float  # how long its transaction (or session) has been open
    query_start: str | None  # ISO 8601
    query: str  # its current or last query, first 80 characters

    def describe(self) -> str:
        app = f" ({self.application_name})" if self.application_name else ""
        started = f", query started {self.query_start}" if self.query_start else ""
        return (
            f"pid {self.pid}{app}, {self.state or 'unknown state'} for {self.seconds:.0f}s"
            f"{started}: {self.query!r}"
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def describe_all(blockers: list[Blocker]) -> str:
    """``blocked by pid 1 (...); pid 2 (...)``, or ``""`` when none was seen."""
    if not blockers:
        return ""
    return "blocked by " + "; ".join(b.describe() for b in blockers)


class BlockerWatch:
    """Poll the blockers of backend ``pid`` every ``interval`` seconds while in the ``with``."""

    def __init__(self, params: dict[str, Any], pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self._last: list[Blocker] = []
        self._stop = threading.Event()
        self._conn = connect(params, application_name="schemaops-blockers")
        self._thread = threading.Thread(target=self._run, name="schemaops-blockers", daemon=True)

    def __enter__(self) -> BlockerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()

    def take(self) -> list[Blocker]:
        """The blockers seen last (then forgotten, so a retry reports its own)."""
        seen, self._last = self._last, []
        return seen

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                found = self._poll()
            except Exception:  # a watcher that cannot see must not fail the migration
                return
            if found:
                self._last = found
            self._stop.wait(self.interval)

    def _poll(self) -> list[Blocker]:
        with self._conn.cursor() as cur:
            cur.execute(BLOCKERS_SQL, (self.pid,))
            rows = cur.fetchall()
        return [
            Blocker(
                pid, app, state, secs, start.isoformat(timespec="seconds") if start else None, q
            )
            for pid, app, state, secs, start, q in rows
        ]
