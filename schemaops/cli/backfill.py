"""``schemaops backfill``: start, watch, pause, resume and cancel batched backfills.

Django and Celery are imported inside the commands, so ``--help`` stays instant.
This module only renders: the engine lives in ``schemaops.backfill``.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from schemaops.backfill.command import StallWatch, StartOptions
from schemaops.backfill.throttle import OnAutovacuum
from schemaops.cli import _options as opts
from schemaops.config import ProjectOptions
from schemaops.durations import Duration, PgDuration
from schemaops.errors import ConfigError, DatabaseUnavailable, RunFailed

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable

    from celery import Celery

    from schemaops.backfill.control import RunStatus
    from schemaops.backfill.dispatch import CtrlC
    from schemaops.backfill.spec import Spec
    from schemaops.backfill.tuning import RunSettings

START_EPILOG = """\b
Examples:
  schemaops backfill start orders.Order --set "total_cents = (total * 100)::bigint" --wait
  schemaops backfill start orders.Order --set "status = 'open'" --where "status = ''" --dry-run
  schemaops backfill start orders.FillTotalCents --workers 2   # a Backfill class, via Celery
"""
log = logging.getLogger("schemaops.backfill")


@click.group("backfill", epilog="Example: schemaops backfill status")
def backfill_group() -> None:
    """Throttled, resumable backfills in small primary-key batches (Celery or in-process).

    --set and --where take your own SQL: it is parsed, checked against the model
    and run as written, inside an UPDATE that skips rows already right.
    """


@dataclass(frozen=True)
class RunOptions:
    """Everything ``backfill status``, ``pause``, ``resume``, ``cancel`` and ``retry`` take
    (``start`` has :class:`~schemaops.backfill.command.StartOptions`)."""

    action: str  # status, pause, resume, cancel or retry
    run_id: int | None = None  # status: None lists every run
    project: ProjectOptions = field(default_factory=ProjectOptions)
    fmt: str = "text"  # status: text | json
    queue: str | None = None  # resume, retry: the Celery queue of the re-queued tasks
    wait: bool | None = None  # resume, retry: stay and show progress
    quiet: bool = False  # -q: no progress bar or progress log lines


def _setup(project: ProjectOptions, verbose: bool = False, quiet: bool = False) -> str:
    """Load the Django project, check the server and the app's tables; returns the alias."""
    from schemaops.config import project_config
    from schemaops.project import setup_django

    cfg = project_config(project)
    setup_django(cfg)
    _configure_logging(verbose, quiet)
    _require_app()
    _check_database(cfg.database)
    from schemaops.backfill import control

    control.ensure_installed(cfg.database)
    return cfg.database


def _require_app() -> None:
    """The backfill app must be installed before its models can even be imported."""
    from django.apps import apps

    if not apps.is_installed("schemaops.backfill"):
        raise ConfigError(
            "the backfill app is not installed in this project: add 'schemaops.backfill' "
            "to INSTALLED_APPS, then run `python manage.py migrate schemaops_backfill`"
        )


def _check_database(alias: str) -> None:
    from django.db import OperationalError, connections

    from schemaops.db import describe, django_params

    try:
        connections[alias].ensure_connection()
    except OperationalError as exc:
        first = (str(exc).strip().splitlines() or ["connection failed"])[0]
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {describe(django_params(alias))}: {first}"
        ) from None


def _configure_logging(verbose: bool, quiet: bool = False) -> None:
    """Structured log lines on stderr; on a terminal only warnings, unless -v; -q: only
    warnings and errors anywhere (-q wins over -v)."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    chatty = not quiet and (verbose or not sys.stderr.isatty())
    log.setLevel(logging.INFO if chatty else logging.WARNING)


@backfill_group.command("start", epilog=START_EPILOG)
@click.argument("target")
@click.option(
    "--set",
    "set_values",
    multiple=True,
    metavar="'FIELD = SQL'",
    help='Assignment(s); your own SQL expression, e.g. "c = a * 2".',
)
@click.option("--where", metavar="SQL", help="Only rows matching this SQL predicate.")
@click.option("--batch-size", type=int, help="First batch size in rows (then adaptive).")
@click.option(
    "--min-batch-size",
    type=int,
    help="Smallest adaptive batch [default: 100, or a smaller first batch size].",
)
@click.option(
    "--max-batch-size",
    type=int,
    help="Largest adaptive batch [default: 100000, or a larger first batch size].",
)
@click.option(
    "--target-duration",
    type=Duration(),
    default=StartOptions.target_duration,
    show_default=True,
    help="How long one batch transaction should take (2s, 500ms); the size adapts to it.",
)
@click.option(
    "--pause",
    type=Duration(),
    default=StartOptions.pause,
    show_default=True,
    help="Fixed sleep between batches (off by default; health signals throttle).",
)
@click.option(
    "--lock-timeout",
    type=PgDuration(),
    default=StartOptions.lock_timeout,
    show_default=True,
    help="Per batch: give up waiting for a row lock (then retry with backoff).",
)
@click.option(
    "--statement-timeout",
    type=PgDuration(),
    default=StartOptions.statement_timeout,
    show_default=True,
    help="Per batch: the longest its UPDATE may run (then split the range); with the "
    "checkpoint and commit, a 250 ms lock budget.",
)
@click.option(
    "--max-rows-per-second",
    type=float,
    default=StartOptions.max_rows_per_second,
    help="Global rate limit across all workers (0: none).",
)
@click.option(
    "--max-lag-bytes",
    type=int,
    default=StartOptions.max_lag_bytes,
    show_default=True,
    help="Hold while a standby or logical slot is further behind (0: ignore).",
)
@click.option(
    "--max-lag-seconds",
    type=Duration(),
    default=StartOptions.max_lag_seconds,
    show_default=True,
    help="Hold while a standby's replay_lag is longer (0: ignore).",
)
@click.option(
    "--on-autovacuum",
    type=click.Choice([v.value for v in OnAutovacuum]),
    default=StartOptions.on_autovacuum.value,
    show_default=True,
    help="What to do while autovacuum works on the table.",
)
@click.option(
    "--throttle-hook",
    metavar="MODULE:FUNC",
    default=StartOptions.throttle_hook,
    help="Your health check; returns a reason to hold, or None.",
)
@click.option(
    "--lease",
    type=Duration(),
    default=StartOptions.lease,
    show_default=True,
    help="After how long a silent worker's batch is taken over (60s, 2min).",
)
@click.option(
    "--workers",
    type=int,
    default=StartOptions.workers,
    show_default=True,
    help="Parallel workers (Celery tasks, or threads when embedded).",
)
@click.option("--queue", help="Celery queue for the tasks (default: the app's default).")
@click.option(
    "--wait/--no-wait",
    default=None,
    help="Stay and show progress (default: wait when embedded, not with a broker).",
)
@click.option(
    "--interleave/--no-interleave",
    default=StartOptions.interleave,
    show_default=True,
    help="--set: update each key range in two parts, even keys then odd keys, so the "
    "second part's updates can be HOT (off by itself when an index reads a set column).",
)
@click.option(
    "--verify/--no-verify",
    default=StartOptions.verify,
    show_default=True,
    help="Sweep the table for rows still not matching when the last batch is done.",
)
@click.option(
    "--non-idempotent",
    is_flag=True,
    help="--set reads the column it sets or calls a volatile function: update each row "
    "exactly once through the batch ledger (the sweep checks the ledger).",
)
@click.option(
    "--give-up-after",
    type=float,
    default=StartOptions.give_up_after,
    show_default=True,
    metavar="SECONDS",
    help="A worker or the watcher stops when the database stays unreachable this long "
    "(it reconnects with backoff until then).",
)
@click.option("--dry-run", is_flag=True, help="Count, EXPLAIN, sample one batch, roll back.")
@click.option("-v", "--verbose", is_flag=True, help="Log every batch even on a terminal.")
@opts.quiet
@opts.project
def start_command(project: ProjectOptions, on_autovacuum: str, quiet: bool, **options: Any) -> None:
    """Start (or resume) a backfill of TARGET: app_label.Model with --set, or app_label.Backfill."""
    o = StartOptions(project=project, on_autovacuum=OnAutovacuum(on_autovacuum), **options)
    _start(o, quiet)


def _start(o: StartOptions, quiet: bool = False) -> None:
    alias = _setup(o.project, o.verbose, quiet)
    from schemaops.backfill import control
    from schemaops.backfill import spec as spec_module
    from schemaops.backfill.command import run_settings

    spec = spec_module.resolve(o.target, o.set_values, o.where, o.non_idempotent)
    _refuse_schema_qualified(spec.db_table, o.target)
    settings = run_settings(spec, o)
    if o.dry_run:
        return _dry_run(spec, settings, alias, o.verbose)
    celery = _celery()
    run, outcome = control.start(spec, settings, alias)
    if outcome == "finished":
        click.echo(f"run {run.pk} of {o.target} already finished; nothing to do")
        return
    keys = f"{run.hi - run.lo + 1} keys, " if not run.key_columns else ""
    click.echo(f"run {run.pk} {outcome}: {o.target} ({keys}~{run.rows_estimate} rows)")
    _launch(run.pk, settings.concurrency, alias, o.queue, o.wait, celery, quiet)


def _refuse_schema_qualified(db_table: str, target: str) -> None:
    """The engine walks tables on the search_path; one in an explicit schema is refused
    in one line (before any run is created) instead of a wrong "no usable key"."""
    from schemaops.tables import schema_qualified

    if schema_qualified(db_table):
        raise ConfigError(
            f"{target}: db_table {db_table} names a table in an explicit schema, which "
            "backfill does not walk yet; run it with that schema on the search_path "
            "(db_table without the schema, search_path set in the database OPTIONS)"
        )


def _celery() -> tuple[Celery, str | None]:
    """The Celery app and its broker URL (None: embedded); a configured broker that is
    down is an error here, before any run is created or changed."""
    from schemaops.backfill import dispatch

    app = dispatch.celery_app()
    url = dispatch.broker_url(app)
    if url is not None:
        dispatch.check_broker(app)
    return app, url


def _launch(
    run_id: int,
    concurrency: int,
    alias: str,
    queue: str | None,
    wait: bool | None,
    celery: tuple[Celery, str | None],
    quiet: bool = False,
) -> None:
    """Queue the tasks on the broker, or run them here when there is none (-q: no bar)."""
    from schemaops.backfill import dispatch

    app, url = celery
    if url is None:
        click.echo(f"run {run_id}: no Celery broker configured; running in this process")
        errors: list[BaseException] = []
        from schemaops.backfill import runner

        ctrl_c = dispatch.CtrlC(runner.request_stop).install()  # before any worker starts
        threads = dispatch.run_embedded(run_id, concurrency, alias, errors)
        return _watch(run_id, alias, threads=threads, errors=errors, quiet=quiet, ctrl_c=ctrl_c)
    dispatch.enqueue(run_id, concurrency, alias, queue)
    click.echo(f"run {run_id}: {concurrency} task(s) queued on {_safe(url)}")
    if wait:
        if not dispatch.live_workers(app):
            click.echo(
                "no Celery worker answered a ping; start one, e.g. `celery -A <project> worker`",
                err=True,
            )
        kick = lambda: dispatch.enqueue(run_id, concurrency, alias, queue)  # noqa: E731
        _watch(run_id, alias, kick=kick, quiet=quiet)
    else:
        click.echo(f"watch it with: schemaops backfill status {run_id}")


def _safe(url: str) -> str:
    from schemaops.db import redact

    return redact(url)


def _watch(
    run_id: int,
    alias: str,
    threads: list[threading.Thread] | None = None,
    errors: list[BaseException] | None = None,
    kick: Callable[[], None] | None = None,
    quiet: bool = False,
    ctrl_c: CtrlC | None = None,
) -> None:
    """Follow a run until it ends: a live bar on a terminal, log lines otherwise (-q: neither).

    Embedded, ``ctrl_c`` handles Ctrl-C (see :class:`CtrlC`): the first lets the batches
    in flight here commit (none is left running), a second stops at once. With a broker
    Ctrl-C only stops watching.
    """
    from schemaops.backfill import runner

    try:
        final = _follow(run_id, alias, threads or [], kick, quiet)
    except KeyboardInterrupt:  # with a broker: the runs go on in the workers
        click.echo(f"\nstopped watching; run {run_id} goes on in its Celery workers", err=True)
        raise
    for thread in threads or []:
        thread.join()  # stopped, paused or cancelled: the batch in flight commits or rolls back
    if ctrl_c is not None and ctrl_c.presses and final != "finished":
        runner.release_own(run_id, alias)
        ctrl_c.leave()  # one more Ctrl-C while leaving is ignored
        click.echo(
            f"stopped, no batch left running; resume with: schemaops backfill resume {run_id}",
            err=True,
        )
        raise KeyboardInterrupt
    if ctrl_c is not None:
        ctrl_c.restore()
    if errors:
        raise errors[0]
    _report_end(_reader(run_id, alias)(), final)


def _reader(run_id: int, alias: str) -> Callable[[], RunStatus]:
    """The run's status, read through database outages (reconnecting with backoff) until
    the run's give-up time; then one line saying how to resume."""
    from schemaops.backfill import control, resilience

    outage = resilience.Outage(control.give_up_seconds(run_id, alias))
    resume = f"schemaops backfill resume {run_id}"
    return lambda: resilience.through_outages(
        lambda: control.status(run_id, alias)[0], alias, outage, resume
    )


def _follow(
    run_id: int,
    alias: str,
    threads: list[threading.Thread],
    kick: Callable[[], None] | None,
    quiet: bool = False,
) -> str:
    from schemaops.backfill.models import RunState

    final = {RunState.FINISHED, RunState.FAILED, RunState.CANCELLED, RunState.PAUSED}
    read = _reader(run_id, alias)
    first = read()
    tty = sys.stdout.isatty() and not quiet
    label = f"run {run_id}"
    width, room = bar_layout(shutil.get_terminal_size((80, 24)).columns, label)
    bar = click.progressbar(
        length=max(1, first.keys_total),
        label=label,
        width=width,
        show_eta=True,
        file=None if tty else io.StringIO(),
        item_show_func=lambda s: s[:room] if s else s,
    )
    shown, last_log, stall = 0, 0.0, StallWatch()
    with bar:
        while True:
            status = read()
            bar.update(status.keys_done - shown, _bar_item(status))
            shown = status.keys_done
            if status.state in final or (threads and not any(t.is_alive() for t in threads)):
                return status.state
            now = time.monotonic()
            if kick is not None and (
                stall.stalled(status.keys_done, now) or _stalled(status, run_id, alias)
            ):
                _requeue(run_id, kick, status.stalled)
            if not tty and now - last_log > 5:
                log.info(f"event=progress run={run_id} {_line(status)}")
                last_log = now
            if threads:
                threads[0].join(timeout=0.5)  # wakes up as soon as an in-process worker ends
            else:
                time.sleep(0.5)


# what Click draws besides the bar and the item: "  [", "]  ", "100%  ", "eta 00:00:00  "
_BAR_FIXED = 3 + 3 + 6 + 15


def bar_layout(columns: int, label: str) -> tuple[int, int]:
    """(bar width, characters left for the item text) so one refresh fits ``columns``.

    A line longer than the terminal wraps, and every refresh then starts a new line.
    """
    usable = max(columns - 1, 20)  # the last column would wrap on some terminals
    width = max(8, min(36, (usable - len(label) - _BAR_FIXED) // 2))
    return width, max(0, usable - len(label) - _BAR_FIXED - width)


def _bar_item(status: RunStatus) -> str:
    """The text after the bar: rows, rate, batch size, throttle (Click shows the ETA)."""
    p = status.progress
    throttle = "" if status.throttle_state == "normal" else f" {status.throttle_state}"
    return (
        f"{status.rows_updated} rows {p.rows_per_second:.0f}/s batch {status.batch_size}{throttle}"
    )


def _stalled(status: RunStatus, run_id: int, alias: str) -> bool:
    """Stalled (no worker heartbeat), and this watcher is the one to re-queue it."""
    from schemaops.backfill import control

    return bool(status.stalled) and bool(control.take_stalled(alias, run_id))


def _requeue(run_id: int, kick: Callable[[], None], cause: str) -> None:
    """Queue the run's tasks again; a broker that is down is tried again later."""
    log.warning(f'event=stalled run={run_id} action=requeue cause="{cause or "no progress"}"')
    try:
        kick()
    except Exception as exc:  # kombu's errors: the broker is down or restarting
        log.warning(f"event=requeue-failed run={run_id} error={type(exc).__name__}")


def _line(status: RunStatus) -> str:
    p = status.progress
    eta = "?" if p.eta_seconds is None else f"{p.eta_seconds:.0f}s"
    throttle = status.throttle_state + (
        f" ({status.throttle_reason})"
        if status.throttle_reason and status.throttle_state != "normal"
        else ""
    )
    return (
        f"rows={status.rows_updated} rate={p.rows_per_second:.0f}/s eta={eta} "
        f"batch={status.batch_size} throttle={throttle}"
    )


def _report_end(status: RunStatus, state: str) -> None:
    from schemaops.backfill.models import RunState

    click.echo(_render(status))
    if status.state == RunState.FAILED:
        raise RunFailed(f"run {status.id} failed: {status.last_error}")
    if status.state == RunState.FINISHED and status.remaining:
        raise RunFailed(
            f"run {status.id}: {status.remaining} rows still do not match "
            "after the verification sweep"
        )


def _render(status: RunStatus) -> str:
    from schemaops.backfill.models import RunState

    p = status.progress
    bar = click.progressbar(
        length=max(1, status.keys_total),
        width=30,
        file=io.StringIO(),
        label=f"run {status.id} {status.target}",
        show_eta=False,
    )
    done = status.keys_total if status.state == RunState.FINISHED else status.keys_done
    bar.pos = min(done, bar.length or 1)
    sets = ", ".join(f"{c} = {e}" for c, e in status.assignments) or "(Python backfill)"
    lines = [
        bar.format_progress_line(),
        f"  state {status.state}  throttle {status.throttle_state} "
        f"{status.throttle_reason}".rstrip(),
        f"  set {sets}" + (f"  where {status.where}" if status.where else ""),
        f"  rows updated {status.rows_updated}  ~remaining {p.rows_remaining(status.rows_estimate)}"
        f"  rate {p.rows_per_second:.0f} rows/s  eta "
        f"{'?' if p.eta_seconds is None else f'{p.eta_seconds:.0f}s'}  elapsed {p.elapsed:.1f}s",
        f"  batches {_counts(status.batches)}  batch size {status.batch_size}"
        f"  longest batch {_secs(status.max_batch_seconds)}",
    ]
    if status.stalled:
        lines.append(f"  stalled: {status.stalled}")
    if status.remaining is not None:
        lines.append(f"  verification: {status.remaining} rows still do not match")
    if status.last_error:
        lines.append(f"  last error: {status.last_error}")
    return "\n".join(lines)


def _counts(batches: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in batches.items())


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}ms"


_SHORT_SQL = 160  # characters of a batch statement a dry run shows without --verbose
_SHORT_PLAN = 8  # lines of EXPLAIN a dry run shows without --verbose


def _dry_run(spec: Spec, run_settings: RunSettings, alias: str, verbose: bool = False) -> None:
    """What one batch would do, rolled back; long SQL and plans are cut unless ``verbose``."""
    from schemaops.backfill import dryrun

    timeouts = (run_settings.lock_timeout, run_settings.statement_timeout)
    report = dryrun.dry_run(spec, run_settings.batch_size, timeouts, alias, run_settings.interleave)
    click.echo(f"dry run of {spec.target} (nothing was written)")
    click.echo(
        f"  rows in table {report.rows_in_table}, rows to touch "
        f"{'unknown' if report.rows_to_touch is None else report.rows_to_touch}"
    )
    for statement in report.statements:
        # short: the UPDATE itself, without the session settings before it
        shown = statement if verbose else dryrun.last_statement(statement)
        click.echo(f"  batch statement: {_short(shown, verbose)}")
    explain = report.explain if verbose else report.explain[:_SHORT_PLAN]
    for line in explain:
        click.echo(f"    {line}")
    if len(explain) < len(report.explain):
        click.echo(f"    ... {len(report.explain) - len(explain)} more plan line(s) (--verbose)")
    if report.first_range is not None:
        click.echo(
            f"  sample batch [{report.first_range.lo}, {report.first_range.hi}): "
            f"{report.sample_rows} rows in {report.sample_seconds * 1000:.1f}ms, "
            f"{report.sample_wal_bytes} WAL bytes (rolled back)"
        )
    if report.projected_seconds is not None and report.projected_wal_bytes is not None:
        click.echo(
            f"  projected: {report.projected_seconds:.1f}s of batch time, "
            f"{report.projected_wal_bytes / 1048576:.1f} MiB of WAL"
        )
    for note in report.notes:
        click.echo(f"  note: {note}")


def _short(statement: str, verbose: bool) -> str:
    """A statement on one line, cut to its start unless ``verbose``."""
    one = " ".join(statement.split())
    if verbose or len(one) <= _SHORT_SQL:
        return one
    return f"{one[:_SHORT_SQL]}... ({len(one):,} characters; --verbose shows it whole)"


@backfill_group.command("status", epilog="Example: schemaops backfill status 3 --format json")
@click.argument("run_id", type=int, required=False)
@opts.output_format(("text", "json"))
@opts.quiet
@opts.project
def status_command(run_id: int | None, **options: Any) -> None:
    """Show runs: progress bar, rows done and remaining, rate, ETA, throttle state."""
    _status(RunOptions("status", run_id, **options))


def _status(o: RunOptions) -> None:
    alias = _setup(o.project, quiet=o.quiet)
    from schemaops.backfill import control

    runs = control.status(o.run_id, alias)
    if o.fmt == "json":
        click.echo(json.dumps({"version": 1, "runs": [r.as_dict() for r in runs]}, default=str))
    elif not runs:
        click.echo("no backfill runs")
    else:
        click.echo("\n".join(_render(r) for r in runs))


def _state_command(action: str, doc: str) -> click.Command:
    @backfill_group.command(action, help=doc, epilog=f"Example: schemaops backfill {action} 3")
    @click.argument("run_id", type=int)
    @click.option("--queue", help="Celery queue for the re-queued tasks (resume).")
    @click.option("--wait/--no-wait", default=None, help="resume: stay and show progress.")
    @opts.quiet
    @opts.project
    def command(run_id: int, **options: Any) -> None:
        _change_state(RunOptions(action, run_id, **options))

    return command


def _change_state(o: RunOptions) -> None:
    """pause, resume, cancel or retry one run; resume and retry queue its tasks again."""
    alias = _setup(o.project, quiet=o.quiet)
    from schemaops.backfill import control

    assert o.run_id is not None  # Click requires RUN_ID for these
    celery = _celery() if o.action in {"resume", "retry"} else None
    if o.action == "retry":
        run = control.retry_failed(o.run_id, alias)
    else:
        run = control.set_state(o.run_id, o.action, alias)
    click.echo(f"run {o.run_id} {run.state}")
    if celery is not None and run.state == "active":
        _launch(o.run_id, run.concurrency, alias, o.queue, o.wait, celery, o.quiet)


pause_command = _state_command("pause", "Stop claiming new batches (running ones finish).")
resume_command = _state_command("resume", "Resume a paused or failed run (re-queues its tasks).")
cancel_command = _state_command(
    "cancel", "Cancel a run: batches in flight commit or roll back whole; no more start."
)
retry_command = _state_command(
    "retry", "Give a run's failed batches another try (a failed run is resumed)."
)
