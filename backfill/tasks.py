"""Celery tasks: thin wrappers that take a run id and re-read everything from the database.

``acks_late`` is safe because a batch is idempotent and its checkpoint commits
with its rows: a task delivered twice finds its ranges done, or finds the slot
taken by the first delivery and returns. A task works for ``budget`` seconds
and then queues itself again, so a long backfill never pins one worker process
and a paused run simply stops re-queueing.

Shutdown of a worker (see :class:`_Shutdown`): a warm shutdown (SIGTERM or SIGINT to
the worker) or a SIGTERM to a pool process stops its backfill tasks after the batch in
flight: the batch commits or rolls back, the claim made ahead is given back, the task
queues itself again for another worker and returns. No batch is left ``running``, and
the shutdown does not wait out a task's budget.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

from celery import shared_task
from celery.signals import worker_process_init, worker_shutting_down

from schemaops.backfill import dispatch, runner

DEFAULT_BUDGET = 60.0


# Re-queueing waits this long for a broker that is down (kombu retries the publish).
REQUEUE_RETRY = {"max_retries": 30, "interval_start": 0.5, "interval_step": 1.0, "interval_max": 5}


@shared_task(
    bind=True,
    name="schemaops.backfill.work",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def work(
    self: Any,
    run_id: int,
    slot: int = 0,
    alias: str = "default",
    budget: float | None = DEFAULT_BUDGET,
) -> str:
    """Process batches of one run as worker ``slot``; re-queue itself while work is left,
    and re-queue any run whose workers were lost (a live worker looks after the others).

    A lost database connection is waited out inside :func:`runner.work`; a broker that
    is down is retried while the task re-queues itself. Should both fail, the run shows
    as stalled and the next live worker or ``--wait`` watcher queues it again.
    """
    # All of it inside working(): a SIGTERM to this pool process ends it only after the
    # task has handed its work on.
    with _shutdown.working():
        if _shutdown.die_after and not self.request.is_eager:
            _requeue(self, run_id, slot, alias, budget)  # this pool process is ending
            return "stopped"
        result = runner.work(run_id, slot=slot, alias=alias, budget=budget)
        if self.request.is_eager:
            return result.reason
        # Out of budget, or stopped by a shutdown of this worker: another delivery goes on.
        if result.reason in ("budget", "stopped"):
            _requeue(self, run_id, slot, alias, budget)
        if result.reason != "gave up":
            _requeue_stalled(alias)
        return result.reason


def _requeue(task: Any, run_id: int, slot: int, alias: str, budget: float | None) -> None:
    """Queue the task again. From a pool process that a SIGTERM is ending, a little later:
    the worker may hand the message straight back to that process before it has gone
    (an ETA task waits in the main process, then goes to a live pool process)."""
    queue = (task.request.delivery_info or {}).get("routing_key")
    task.apply_async(
        (run_id, slot),
        {"alias": alias, "budget": budget},
        queue=queue,
        countdown=2.0 if _shutdown.die_after else None,
        retry=True,
        retry_policy=REQUEUE_RETRY,
    )


def _requeue_stalled(alias: str) -> None:
    """Housekeeping for the other runs; its failure (database or broker down) must not
    fail this task: the next worker or watcher looks again."""
    try:
        dispatch.requeue_stalled(alias)
    except Exception as exc:
        runner.log.warning(runner.fmt("requeue-stalled-failed", error=type(exc).__name__))


# A pool process asks its backfill tasks to stop on this signal. Not SIGTERM, whose
# default kills the process (and with it another task of the project's own): the main
# process sends it to each pool process when a warm shutdown starts.
STOP_SIGNAL = signal.SIGUSR2


class _Shutdown:
    """Stops the backfill tasks of this process when its worker shuts down.

    - Warm shutdown (SIGTERM or SIGINT to the main process, ``celery control shutdown``):
      Celery stops taking tasks and waits for the running ones; its main process sends
      :data:`STOP_SIGNAL` to its pool processes, and stops tasks running in itself (the
      ``threads`` and ``solo`` pools).
    - SIGTERM to a pool process itself (with the whole process group: systemd's
      default, a terminal's job control): while a backfill task runs, its batch in
      flight commits instead of being cut off by billiard's handler (which raises
      ``SystemExit`` in the task and makes Celery log the worker as lost); the task
      re-queues itself, returns, and the process then ends as the SIGTERM asked unless
      the whole worker is shutting down. A second SIGTERM gets billiard's handler.
    """

    def __init__(self) -> None:
        self.busy = 0
        self.previous: Any = None  # billiard's SIGTERM handler, while a task runs
        self.die_after = False  # a SIGTERM came to this pool process: end it after the task
        self.pool_closing = False  # the main process is shutting down: it ends this one

    @contextlib.contextmanager
    def working(self) -> Iterator[None]:
        """Around a task: SIGTERM stops it after its batch while it runs."""
        self.busy += 1
        own = self.busy == 1 and threading.current_thread() is threading.main_thread()
        if own:
            self.previous = signal.signal(signal.SIGTERM, self.on_sigterm)
        try:
            yield
        finally:
            self.busy -= 1
            if own:
                signal.signal(signal.SIGTERM, self.previous)
                if self.die_after:  # once the task's result has gone to the main process
                    threading.Timer(0.5, self.die).start()

    def on_sigterm(self, signum: int, frame: Any) -> None:
        signal.signal(signal.SIGTERM, self.previous)  # a second one: billiard's exit
        self.die_after = True
        runner.request_stop()

    def die(self) -> None:
        """End the process as the SIGTERM it got asked (the pool replaces it), unless the
        whole worker is shutting down: then the pool ends it, and a pool process that
        died first would be logged as lost with its last task."""
        if self.pool_closing:
            return
        if self.busy:  # a task came in meanwhile (it hands itself back at once)
            threading.Timer(0.2, self.die).start()
            return
        os.kill(os.getpid(), signal.SIGTERM)

    def stop_tasks(self, *args: Any) -> None:
        self.pool_closing = True
        runner.request_stop()

    def on_pool_start(self, **kwargs: Any) -> None:
        signal.signal(STOP_SIGNAL, self.stop_tasks)

    def on_worker_shutting_down(self, **kwargs: Any) -> None:
        runner.request_stop()  # tasks running in this process (threads, solo pools)
        import billiard.process

        for child in billiard.process.active_children():
            if child.pid:
                with contextlib.suppress(OSError):  # already gone
                    os.kill(child.pid, STOP_SIGNAL)


_shutdown = _Shutdown()
worker_process_init.connect(_shutdown.on_pool_start, weak=False)
worker_shutting_down.connect(_shutdown.on_worker_shutting_down, weak=False)
