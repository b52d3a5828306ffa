"""What the admin does to runs, through the engine's own functions (the CLI's, too).

Nothing here runs a batch: starting, resuming and retrying queue the run's tasks on
the Celery broker, and a worker does the work. Without a broker there is no process
to hand the work to, so those actions refuse (with the command to run instead);
pausing and cancelling only change the run's state and work either way.
"""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

from schemaops.backfill import control, dispatch
from schemaops.backfill.base import Backfill
from schemaops.backfill.tuning import RunSettings
from schemaops.errors import ConfigError

if TYPE_CHECKING:
    from schemaops.backfill.models import Run
    from schemaops.backfill.spec import Spec

ACTIONS = ("pause", "resume", "cancel", "retry")
ACTION_LABELS = {
    "pause": "Pause",
    "resume": "Resume",
    "cancel": "Cancel",
    "retry": "Retry failed batches",
}
_LAUNCHES = {"resume", "retry"}


def available_actions(run: Any, failed_batches: int) -> list[str]:
    """The actions that make sense for ``run`` in its current state."""
    found = []
    if run.state == "active":
        found.append("pause")
    if run.state in {"paused", "failed"}:
        found.append("resume")
    if run.state in {"active", "paused", "failed"}:
        found.append("cancel")
        if failed_batches:
            found.append("retry")
    return found


def registered_backfills() -> dict[str, type[Backfill]]:
    """``app_label.ClassName`` -> class, for each Backfill defined in an installed app's
    ``backfills`` module (the names ``schemaops backfill start`` accepts)."""
    from django.apps import apps

    found: dict[str, type[Backfill]] = {}
    for app_config in apps.get_app_configs():
        module_name = f"{app_config.name}.backfills"
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        for name, value in inspect.getmembers(module, inspect.isclass):
            own = value.__module__ == module.__name__
            if own and issubclass(value, Backfill) and value is not Backfill:
                found[f"{app_config.label}.{name}"] = value
    return dict(sorted(found.items()))


def queue() -> str | None:
    """The Celery queue the admin sends tasks to: ``settings.SCHEMAOPS_BACKFILL_QUEUE``."""
    from django.conf import settings

    return getattr(settings, "SCHEMAOPS_BACKFILL_QUEUE", None) or None


def require_broker(run_hint: str) -> None:
    """A broker must be configured and reachable before a run is started or resumed."""
    app = dispatch.celery_app()
    if dispatch.broker_url(app) is None:
        raise ConfigError(
            "no Celery broker is configured, so no worker can take this run: "
            f"run `schemaops backfill {run_hint}` in a shell instead"
        )
    dispatch.check_broker(app)


def perform(action: str, run_id: int, alias: str) -> Any:
    """Pause, resume, cancel or retry the failed batches of a run; returns the run.

    Resume and retry queue the run's tasks again, as ``schemaops backfill resume`` does.
    """
    if action not in ACTIONS:
        raise ConfigError(f"unknown action {action!r}")
    if action in _LAUNCHES:
        require_broker(f"resume {run_id}")
    if action == "retry":
        run = control.retry_failed(run_id, alias)
    else:
        run = control.set_state(run_id, action, alias)
    if action in _LAUNCHES and run.state == "active":
        dispatch.enqueue(run.pk, run.concurrency, alias, queue())
    return run


def start(spec: Spec, settings: RunSettings, alias: str) -> tuple[Run, str]:
    """Find or create the run of ``spec`` and queue its tasks; (run, created|resumed|finished)."""
    require_broker(f"start {spec.target}")
    run, outcome = control.start(spec, settings, alias)
    if outcome != "finished":
        dispatch.enqueue(run.pk, run.concurrency, alias, queue())
    return run, outcome
