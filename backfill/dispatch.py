"""Where the tasks run: the project's Celery app and broker, or in this process.

The project's own Celery app is used when it has one (``celery.current_app`` after
Django is set up, as ``proj/__init__.py`` imports it); otherwise schemaops makes its
own, reading ``SCHEMAOPS_BROKER_URL``. No broker configured means embedded mode:
the same task runs in-process, one thread per slot. A broker that is configured
but unreachable is a :class:`BrokerUnavailable` error, never a silent fallback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from typing import Any

from schemaops.db import redact
from schemaops.errors import BrokerUnavailable


def celery_app() -> Any:
    """The project's Celery app, or schemaops' own."""
    from celery import _state

    if getattr(_state, "default_app", None) is not None:
        return _state.get_current_app()
    from celery import Celery

    app = Celery("schemaops", broker=os.environ.get("SCHEMAOPS_BROKER_URL") or None)
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1
    )
    return app


def broker_url(app: Any) -> str | None:
    url = app.conf.broker_url
    return str(url) if url else None


def check_broker(app: Any) -> None:
    """Connect to the broker once, quickly; raise BrokerUnavailable if it is down."""
    url = broker_url(app)
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=3)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BrokerUnavailable(
            f"Celery broker {redact(url or '?')} is unreachable: {redact(first)}"
        ) from None


def enqueue(run_id: int, concurrency: int, alias: str, queue: str | None) -> None:
    """Queue one task per worker slot; extra deliveries find their slot taken and return."""
    from schemaops.backfill.tasks import work

    for slot in range(concurrency):
        if queue:
            work.apply_async((run_id, slot), {"alias": alias}, queue=queue)
        else:
            work.apply_async((run_id, slot), {"alias": alias})


def requeue_stalled(alias: str) -> list[int]:
    """Queue the tasks of every stalled run again (see control.take_stalled); returns
    their ids. Called by the ``--wait`` watcher and by every worker between tasks."""
    from schemaops.backfill import control

    stalled = control.take_stalled(alias)
    for run_id, concurrency, queue in stalled:
        enqueue(run_id, concurrency, alias, queue)
    return [run_id for run_id, _, _ in stalled]


def live_workers(app: Any, timeout: float = 1.0) -> int:
    """How many Celery workers answer a ping (0 when none)."""
    try:
        return len(app.control.ping(timeout=timeout) or [])
    except Exception:
        return 0


def run_embedded(
    run_id: int, concurrency: int, alias: str, errors: list[BaseException]
) -> list[threading.Thread]:
    """Run the same task in-process, one thread per slot; a thread's exception lands in errors."""
    threads = [
        threading.Thread(
            target=_embedded_slot,
            args=(run_id, slot, alias, errors),
            daemon=True,
            name=f"schemaops-backfill-{slot}",
        )
        for slot in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    return threads


def _embedded_slot(run_id: int, slot: int, alias: str, errors: list[BaseException]) -> None:
    from django.db import connections

    from schemaops.backfill.tasks import work

    try:
        work.apply(args=(run_id, slot), kwargs={"alias": alias, "budget": None}, throw=True)
    except BaseException as exc:
        errors.append(exc)
    finally:
        connections.close_all()


class CtrlC:
    """Ctrl-C of an embedded run: the first lets the batches in flight commit, the second
    stops at once (``os._exit(130)``: the server rolls back what was cut off).

    Race-free by construction: the handler is installed before any worker starts and
    stays installed, it never raises, and it only counts presses, so a second Ctrl-C has
    the same effect whenever it lands (during the first's handling, while the workers
    finish, while leaving). Python's default handler raised ``KeyboardInterrupt`` at
    whatever bytecode ran; a second one arriving inside the ``except`` block that handled
    the first escaped it, and the process died by the signal (-2) instead of exiting 130.
    It writes with ``os.write``: a handler that prints through Python's buffered stderr
    could interrupt a write to it in progress (a reentrant call error).
    """

    def __init__(self, stop: Callable[[], None]) -> None:
        self.stop, self.presses = stop, 0
        self.previous: Any = None
        self.installed = False

    def install(self) -> CtrlC:
        """Take over SIGINT (only the main thread can; elsewhere Ctrl-C never arrives)."""
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
            self.installed = True
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.presses += 1
        if self.presses == 1:
            self.stop()
            _say("\nfinishing the batches in flight (Ctrl-C again to stop at once)\n")
            return
        _say("stopped at once; the batches in flight roll back\n")
        os._exit(130)

    def leave(self) -> None:
        """Ignore any further Ctrl-C: the process is on its way out after the first."""
        if self.installed:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    def restore(self) -> None:
        if self.installed:
            signal.signal(signal.SIGINT, self.previous)
            self.installed = False


def _say(text: str) -> None:
    with contextlib.suppress(OSError):  # stderr closed: nothing to tell
        os.write(2, text.encode())
