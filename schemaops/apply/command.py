"""The body of ``schemaops migrate``: plan, lint, refuse or apply, and render progress.

:mod:`schemaops.cli.migrate` only turns the command line into a :class:`MigrateOptions`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from schemaops import defaults
from schemaops.apply.planning import ApplyPlan, build_plan, lint_plan, targets_for
from schemaops.apply.retry import Backoff
from schemaops.apply.runner import Applied, Applier, Timeouts
from schemaops.config import ProjectOptions, project_config
from schemaops.durations import parse_duration
from schemaops.errors import ConfigError, DatabaseUnavailable, RunFailed
from schemaops.phases import Phase
from schemaops.project import setup_django
from schemaops.stats.estimate import estimate_findings

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper

    from schemaops.linter import Linter, LintResult


@dataclass(frozen=True)
class MigrateOptions:
    """Everything ``schemaops migrate`` takes; None means "from [tool.schemaops]"."""

    project: ProjectOptions = field(default_factory=ProjectOptions)
    app_label: str | None = None
    migration_name: str | None = None
    phase: Phase | None = None  # None: every migration, whatever its phase
    plan_only: bool = False
    allow: tuple[str, ...] = ()  # APP.MIGRATION labels applied despite error findings
    lock_timeout: str | None = None
    statement_timeout: str | None = None
    retries: int | None = None
    retry_delay: float = parse_duration(defaults.RETRY_DELAY)  # seconds; doubles each retry
    fmt: str = "text"  # text | json (the plan, or what was applied, as one JSON document)
    verbose: bool = False  # --plan: the full check report, not one line per migration
    quiet: bool = False  # no progress lines on stderr
    stats: str | None = None  # a `schemaops stats` snapshot: estimates decide the refusals
    lock_budget: str | None = None


def run_migrate(o: MigrateOptions) -> int:
    """Plan, lint, then apply (or refuse, or only show the plan); returns the exit status."""
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    from schemaops.db import django_params
    from schemaops.selection import server_pg_version

    app_label, migration_name = o.app_label, o.migration_name
    cfg = project_config(
        o.project,
        lock_timeout=o.lock_timeout,
        statement_timeout=o.statement_timeout,
        retries=o.retries,
        stats=o.stats,
        lock_budget=o.lock_budget,
    )
    if migration_name and not app_label:
        raise ConfigError("give an app label before the migration name")
    setup_django(cfg)
    params = django_params(cfg.database)
    if cfg.pg_version is None:
        cfg = cfg.override(pg_version=server_pg_version(cfg.database) // 10000)
    connection = connections[cfg.database]
    _reachable(connection, params)
    executor = MigrationExecutor(connection)
    plan = build_plan(executor, targets_for(executor.loader, app_label, migration_name), o.phase)
    applied = set(executor.loader.applied_migrations)
    linter, result = lint_plan(plan, executor.loader, cfg, applied, set(o.allow))
    estimate_findings(result.findings, cfg)  # --stats: refusals follow the estimates, as in check
    if o.plan_only:
        if o.fmt == "json":
            click.echo(json.dumps(_plan_json(plan), indent=2))
        else:
            click.echo(_plan_text(plan, linter, result, o.verbose))
        return 0
    if plan.refused:
        if not o.quiet and o.fmt == "text":
            click.echo(_refused_text(plan), err=True)
        if o.fmt == "json":
            click.echo(json.dumps({**_plan_json(plan), "error": _refusal(plan)}, indent=2))
        raise RunFailed(_refusal(plan))
    return _apply(executor, params, cfg, plan, o)


def _apply(executor: Any, params: dict[str, Any], cfg: Any, plan: ApplyPlan, o: Any) -> int:
    """Apply the plan; progress on stderr (text), or one JSON document at the end."""
    events: list[dict[str, Any]] = []

    def progress(event: str, data: dict[str, Any]) -> None:
        if event == "retry":
            events.append({"event": event, **data})
        if not o.quiet:
            _progress(event, data)

    backoff = Backoff(retries=cfg.retries, base=o.retry_delay)
    timeouts = Timeouts(cfg.lock_timeout, cfg.statement_timeout)
    applier = Applier(executor, params, timeouts, backoff, progress)
    try:
        done = applier.apply(plan)
    except RunFailed as exc:
        if o.fmt == "json":
            click.echo(json.dumps(_applied_json(plan, applier.done, events, str(exc)), indent=2))
        raise
    if o.fmt == "json":
        click.echo(json.dumps(_applied_json(plan, done, events, None), indent=2))
    else:
        click.echo(_summary(plan, done))
    return 0


def _plan_json(plan: ApplyPlan) -> dict[str, Any]:
    def item(p: Any, deferred: bool = False) -> dict[str, Any]:
        return {
            "migration": p.label,
            "phase": str(p.phase),
            "atomic": p.atomic,
            "deferred": deferred,
            "refused": p.refused,
            "allowed": p.allowed,
            "findings": sorted({f.code for f in p.findings}),
        }

    items = [item(p) for p in plan.items] + [item(p, True) for p in plan.deferred]
    return {"version": 1, "phase": str(plan.phase) if plan.phase else None, "plan": items}


def _applied_json(
    plan: ApplyPlan, done: list[Applied], events: list[dict[str, Any]], error: str | None
) -> dict[str, Any]:
    """What ran: each migration's time, attempts and locks; every retry with its blockers."""
    applied = [
        {
            "migration": a.label,
            "phase": str(a.phase),
            "duration_ms": round(a.duration_ms, 1),
            "attempts": a.attempts,
            "locks": [list(lock) for lock in a.locks],
        }
        for a in done
    ]
    retries = [{k: v for k, v in e.items() if k != "blocked_by"} for e in events]
    deferred = [p.label for p in plan.deferred]
    return {"version": 1, "applied": applied, "retries": retries, "deferred": deferred,
            "error": error}  # fmt: skip


def _reachable(connection: BaseDatabaseWrapper, params: dict[str, Any]) -> None:
    from django.db import DatabaseError

    from schemaops.db import describe, redact

    try:
        connection.ensure_connection()
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or ["unreachable"])[0]
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {describe(params)}: {redact(first)}"
        ) from None


def _refusal(plan: ApplyPlan) -> str:
    item = plan.refused[0]
    codes = ", ".join(sorted({f.code for f in item.errors}))
    return (
        f"refusing to apply {item.label}: {len(item.errors)} error finding(s) ({codes}); "
        f"fix it, or pass --allow {item.label} to apply it anyway"
    )


def _refused_text(plan: ApplyPlan) -> str:
    from schemaops.reporting import Report, render

    errors = [f for item in plan.refused for f in item.errors]
    return render(Report("migrate", errors, {"refused": len(plan.refused)}), "text")


def _findings_text(linter: Linter, result: LintResult) -> str:
    from schemaops.gate.command import build_report
    from schemaops.reporting import render

    return render(build_report(result, linter), "text")


def _plan_text(plan: ApplyPlan, linter: Linter, result: LintResult, verbose: bool) -> str:
    """One line per migration with its finding codes; the full report only with --verbose."""
    lines = [click.style(f"schemaops migrate plan (phase: {plan.phase or 'all'})", bold=True)]
    if not plan.items:
        lines.append("  nothing to apply")
    for item in plan.items:
        kind = "atomic" if item.atomic else "non-atomic"
        mark = "REFUSED (error findings)" if item.refused else ""
        if item.errors and item.allowed:
            mark = "allowed despite error findings"
        codes = ", ".join(sorted({f.code for f in item.findings if not f.suppressed}))
        mark = f"{mark}  [{codes}]" if codes else mark
        lines.append(f"  {item.label:<45} {item.phase:<5} {kind:<11} {mark}".rstrip())
    for item in plan.deferred:
        lines.append(click.style(f"  {item.label:<45} post  deferred to --phase post", dim=True))
    if verbose:
        return "\n".join([*lines, "", _findings_text(linter, result)])
    shown = [f for f in plan.findings if not f.suppressed]
    errors = sum(f.severity.label == "error" for f in shown)
    lines += [
        "",
        f"schemaops migrate: {len(plan.items)} to apply, {len(plan.refused)} refused, "
        f"{errors} error(s), {len(shown) - errors} other finding(s)"
        + ("; --verbose (or schemaops check) for the details" if shown else ""),
    ]
    return "\n".join(lines)


def _locks_text(done: Applied) -> str:
    from schemaops.locks import Lock

    strongest: dict[str, Lock] = {}
    for table, mode in done.locks:
        if table == "django_migrations":
            continue  # the bookkeeping row, not the migration's doing
        lock = Lock.from_mode(mode)
        if lock and (table not in strongest or lock.strength > strongest[table].strength):
            strongest[table] = lock
    return ", ".join(f"{lk.value} on {t}" for t, lk in sorted(strongest.items())) or "none"


def _progress(event: str, data: dict[str, Any]) -> None:
    name = data.get("migration", "")
    if event == "start":
        kind = "atomic" if data["atomic"] else "non-atomic"
        click.echo(f"→ {name} ({data['phase']}, {kind})", err=True)
    elif event == "retry":
        click.echo(
            click.style(
                f"  lock timeout ({data['scope']}), retry {data['attempt']}/{data['of']} "
                f"in {data['delay']:.2f}s: {data.get('blocked_by') or data['error']}",
                fg="yellow",
            ),
            err=True,
        )
    elif event == "dropped-invalid":
        click.echo(f"  dropped invalid index {data['index']} left by a failed build", err=True)
    elif event == "skipped":
        click.echo(f"  skipped a statement: {data['reason']}", err=True)
    elif event == "done":
        done: Applied = data["result"]
        retries = f", {done.attempts - 1} retry(ies)" if done.attempts > 1 else ""
        click.echo(
            f"✓ {done.label}  {done.duration_ms:.0f} ms{retries}  locks: {_locks_text(done)}",
            err=True,
        )


def _summary(plan: ApplyPlan, done: list[Applied]) -> str:
    text = f"schemaops migrate: applied {len(done)} migration(s)"
    if plan.deferred:
        text += f"; {len(plan.deferred)} post-deploy migration(s) left for --phase post"
    return click.style(text, fg="green")
