"""Celery tasks: thin wrappers that take a run id and re-read everything from the database.

``acks_late`` is safe because a batch is idempotent and its checkpoint commits
with its rows: a task delivered twice finds its ranges done, or finds the slot
taken by the first delivery and returns. A task works for ``budget`` seconds
and then queues itself again, so a long backfill never pins one worker process
and a paused run simply stops re-queueing.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

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
    result = runner.work(run_id, slot=slot, alias=alias, budget=budget)
    if self.request.is_eager:
        return result.reason
    if result.reason == "budget":
        queue = (self.request.delivery_info or {}).get("routing_key")
        self.apply_async(
            (run_id, slot),
            {"alias": alias, "budget": budget},
            queue=queue,
            retry=True,
            retry_policy=REQUEUE_RETRY,
        )
    if result.reason != "gave up":
        _requeue_stalled(alias)
    return result.reason


def _requeue_stalled(alias: str) -> None:
    """Housekeeping for the other runs; its failure (database or broker down) must not
    fail this task: the next worker or watcher looks again."""
    try:
        dispatch.requeue_stalled(alias)
    except Exception as exc:
        runner.log.warning(runner.fmt("requeue-stalled-failed", error=type(exc).__name__))
