"""Keep going through a restart of PostgreSQL or a terminated session.

A lost connection is not an error of the batch: the server (or an administrator)
ended the session, and everything the worker had not committed rolled back with
it. The worker drops the dead connection, waits with backoff and carries on;
its running batch is taken over at once because its session left
``pg_stat_activity``. Only an outage longer than the configured time ends the
worker, with one line saying why and how to resume.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from schemaops.errors import DatabaseUnavailable

DEFAULT_GIVE_UP_SECONDS = 600.0
# SQLSTATE classes and codes that mean "this session is gone or cannot start yet":
# connection exceptions (08), admin/crash shutdown and "the database system is starting
# up" (57P01-57P03), and an idle-in-transaction timeout ending a frozen session (25P03).
_LOST_CLASSES = ("08",)
_LOST_CODES = {"57P01", "57P02", "57P03", "25P03"}


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error, or of the one it wraps (psycopg2 or psycopg 3)."""
    for candidate in (exc, exc.__cause__, exc.__context__):
        code = getattr(candidate, "pgcode", None) or getattr(candidate, "sqlstate", None)
        if code:
            return str(code)
    return None


def is_connection_lost(exc: BaseException) -> bool:
    """Whether ``exc`` means the session ended (or could not be opened), not that SQL failed.

    A driver ``OperationalError``/``InterfaceError`` without a SQLSTATE is a dead socket
    ("server closed the connection unexpectedly", "connection already closed", "could
    not connect"); with one, only the connection classes above count. Lock and statement
    timeouts and deadlocks are ``OperationalError`` too, with their own SQLSTATE. The
    class a driver picks for a SQLSTATE varies (psycopg 3 raises the idle-in-transaction
    timeout as ``InternalError``), so a known SQLSTATE decides whatever the class.
    """
    from django.db import DatabaseError, InterfaceError, OperationalError

    if not isinstance(exc, DatabaseError):
        return False
    code = sqlstate(exc)
    if code is None:
        return isinstance(exc, OperationalError | InterfaceError)
    return code.startswith(_LOST_CLASSES) or code in _LOST_CODES


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def drop_connection(alias: str) -> None:
    """Forget this thread's connection to ``alias`` so the next query opens a new one."""
    from django.db import connections

    connection = connections[alias]
    try:
        connection.close()
    except Exception:  # a dead socket may refuse even to close; it is gone either way
        connection.connection = None
    connection.in_atomic_block, connection.needs_rollback = False, False


@dataclass
class Outage:
    """Backoff while the database is unreachable: 0.5 s, 1 s, 2 s ... up to ``cap`` (with
    jitter, so workers do not reconnect in step), for at most ``give_up_after`` seconds
    from the first failure. :meth:`over` ends the outage after any successful step."""

    give_up_after: float = DEFAULT_GIVE_UP_SECONDS
    cap: float = 5.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    since: float | None = None
    attempts: int = 0
    last_error: str = field(default="")

    def wait(self, exc: BaseException) -> bool:
        """Sleep before the next attempt; False when the outage has lasted too long."""
        now = self.clock()
        if self.since is None:
            self.since = now
        self.attempts += 1
        self.last_error = first_line(exc)
        if now - self.since >= self.give_up_after:
            return False
        delay = min(self.cap, 0.5 * 2 ** (self.attempts - 1)) * random.uniform(0.8, 1.2)
        self.sleep(min(delay, max(0.0, self.since + self.give_up_after - now)))
        return True

    def over(self) -> None:
        self.since, self.attempts = None, 0

    @property
    def seconds(self) -> float:
        return 0.0 if self.since is None else self.clock() - self.since


T = TypeVar("T")


def through_outages(call: Callable[[], T], alias: str, outage: Outage, resume: str) -> T:
    """``call()``, again and again while the database is unreachable (with ``outage``'s
    backoff); raises DatabaseUnavailable, naming ``resume``, when the outage lasts too long.
    For the ``--wait`` watcher: its own queries must not end the run's supervision."""
    while True:
        try:
            result = call()
        except Exception as exc:
            if not is_connection_lost(exc):
                raise
            drop_connection(alias)
            if not outage.wait(exc):
                raise DatabaseUnavailable(
                    f"gave up after the database was unreachable for {outage.seconds:.0f}s"
                    f" ({outage.last_error}); the run is unchanged, continue it with: {resume}"
                ) from None
            continue
        outage.over()
        return result
