"""Where the tasks run: the project's Celery app and broker, or in this process.

The project's own Celery app is used when it has one (``celery.current_app`` after
Django is set up, as ``proj/__init__.py`` imports it); otherwise schemaops makes its
own, reading ``SCHEMAOPS_BROKER_URL``. No broker configured means embedded mode:
the same task runs in-process, one thread per slot. A broker that is configured
but unreachable is a :class:`BrokerUnavailable` error, never a silent fallback.
"""

from __future__ import annotations

import os
import threading
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
