"""Watch another backend's locks from a second connection while a statement runs.

Statements that cannot run in a transaction (``CREATE INDEX CONCURRENTLY``,
``VACUUM``...) release their locks before the traced connection could look at
``pg_locks`` itself, so a thread polls ``pg_locks`` for that backend's pid
until the statement returns.

``pin_snapshot=True`` (trace only, never on a production server) makes a
fast concurrent build observable every time: the sampler holds a REPEATABLE
READ snapshot open, which ``CREATE INDEX CONCURRENTLY`` must wait for while
holding its table lock, and lets it go as soon as a lock has been seen (or
after ``pin_seconds``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from schemaops.db import connect
from schemaops.trace.snapshot import PID_LOCKS_SQL


class LockSampler:
    """Collect the (relation oid, mode) pairs a backend holds while it works."""

    def __init__(
        self,
        params: dict[str, Any],
        pid: int,
        *,
        interval: float = 0.002,
        pin_snapshot: bool = False,
        pin_seconds: float = 2.0,
    ) -> None:
        self.params = params
        self.pid = pid
        self.interval = interval
        self.pin_seconds = pin_seconds
        self.seen: set[tuple[int, str]] = set()
        self._stop = threading.Event()
        self._conn = connect(params, application_name="schemaops-sampler")
        self._pin = connect(params, application_name="schemaops-pin") if pin_snapshot else None
        self._thread = threading.Thread(target=self._run, name="schemaops-lock-sampler")

    def __enter__(self) -> LockSampler:
        if self._pin is not None:
            self._pin.autocommit = False
            with self._pin.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cur.execute("SELECT 1")  # takes the snapshot
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._release_pin()
        self._thread.join()
        self._conn.close()
        if self._pin is not None:
            self._pin.close()

    def _release_pin(self) -> None:
        if self._pin is not None and not self._pin.closed:
            # the pin is best effort; the traced statement must go on regardless
            with contextlib.suppress(Exception):
                self._pin.rollback()

    def _run(self) -> None:
        started = time.monotonic()
        with self._conn.cursor() as cur:
            while not self._stop.is_set():
                cur.execute(PID_LOCKS_SQL, (self.pid,))
                self.seen.update((int(r), m) for r, m in cur.fetchall() if r is not None)
                if self.seen or time.monotonic() - started > self.pin_seconds:
                    self._release_pin()
                time.sleep(self.interval)
