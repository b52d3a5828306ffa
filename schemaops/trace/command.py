"""The body of ``schemaops trace``: configuration, selection, run, render.

:mod:`schemaops.cli.trace` only turns the command line into a
:class:`TraceCommandOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from schemaops.config import Config, ProjectOptions, project_config
from schemaops.db import connect, connection_params, describe
from schemaops.errors import ConfigError, RunFailed
from schemaops.project import setup_django
from schemaops.reporting import OutputFormat, emit
from schemaops.selection import Selection, load_graph

if TYPE_CHECKING:
    from django.db.migrations.loader import MigrationLoader


@dataclass(frozen=True)
class TraceCommandOptions:
    """Everything ``schemaops trace`` takes (the engine's own are :class:`TraceOptions`)."""

    project: ProjectOptions = field(default_factory=ProjectOptions)
    app_label: str | None = None
    migration_name: str | None = None
    dsn: str | None = None
    apps: tuple[str, ...] = ()
    exclude_apps: tuple[str, ...] = ()
    since: str | None = None
    every: bool = False  # --all: trace migrations the target has applied too
    from_database: bool = False
    rows: int = 0
    compat: bool = False  # --compat: replay the rollout (schemaops.trace.compat) instead
    fmt: OutputFormat = OutputFormat.TEXT  # one of schemaops.trace.render.FORMATS
    output: str | None = None
    quiet: bool = False
    stats: str | None = None  # a `schemaops stats` snapshot: list the estimates too
    lock_budget: str | None = None


def target_params(cfg: Config, dsn: str | None) -> dict[str, Any]:
    """The database the migrations are headed for: ``--dsn``, else the Django alias."""
    return connection_params(dsn=dsn, alias=cfg.database, use_django=not dsn)


def applied_on(params: dict[str, Any]) -> set[tuple[str, str]]:
    """Migrations recorded in ``django_migrations`` of the target (empty if it has none)."""
    conn = connect(params, readonly=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return set()
            cur.execute("SELECT app, name FROM django_migrations")
            return {(app, name) for app, name in cur.fetchall()}
    finally:
        conn.close()


def select(
    cfg: Config,
    app_label: str | None,
    migration_name: str | None,
    *,
    since: str | None,
    every: bool,
    params: dict[str, Any],
) -> tuple[MigrationLoader, set[tuple[str, str]]]:
    """Load the graph and pick migrations like ``check`` does (unapplied by default)."""
    if migration_name and not app_label:
        raise ConfigError("give an app label before the migration name")
    target = (app_label, migration_name) if app_label and migration_name else None
    applied = set() if every or migration_name else applied_on(params)
    selection = Selection(
        apps=(app_label,) if app_label else cfg.apps,
        exclude_apps=cfg.exclude_apps,
        since=since,
        unapplied_only=not every and not migration_name,
        target=target,
        applied=applied,
    )
    loader = load_graph()
    return loader, selection.resolve(loader)


def run_trace_command(o: TraceCommandOptions) -> int:
    """Trace the selected migrations on a scratch database and print the report."""
    from schemaops.trace.render import render
    from schemaops.trace.runner import TraceOptions, run_trace

    cfg = project_config(
        o.project,
        apps=o.apps,
        exclude_apps=o.exclude_apps,
        stats=o.stats,
        lock_budget=o.lock_budget,
    )
    setup_django(cfg)
    params = target_params(cfg, o.dsn)
    loader, selected = select(
        cfg, o.app_label, o.migration_name, since=o.since, every=o.every, params=params
    )
    if not selected:
        if not o.quiet:
            click.echo(f"schemaops trace: nothing to trace on {describe(params)}", err=True)
        return 0
    if o.compat:
        return run_compat_command(cfg, params, selected, o)
    options = TraceOptions(
        alias=cfg.database,
        server=params if o.dsn else None,
        from_database=o.from_database,
        rows=o.rows,
    )
    result = run_trace(selected, options, None if o.quiet else _progress)
    if cfg.stats:
        from schemaops.stats.estimate import estimate_migrations

        result.estimates = estimate_migrations(loader, selected, cfg)
    emit(render(result, o.fmt), o.output)
    if result.failed:
        raise RunFailed("a migration failed on the scratch database (see the trace above)")
    return 0


def run_compat_command(
    cfg: Config, params: dict[str, Any], selected: set[tuple[str, str]], o: TraceCommandOptions
) -> int:
    """``trace --compat``: replay the rollout, render it, exit 1 on a break."""
    from schemaops.trace.compat import CompatOptions, run_compat
    from schemaops.trace.compat_render import render_compat

    options = CompatOptions(
        alias=cfg.database,
        server=params if o.dsn else None,
        from_database=o.from_database,
        rows=o.rows,
    )
    result = run_compat(selected, options, None if o.quiet else _progress)
    emit(render_compat(result, o.fmt), o.output)
    if result.error:
        raise RunFailed(result.error)
    if result.breaks:
        raise RunFailed(f"{len(result.breaks)} break(s) in the replayed rollout (see above)")
    return 0


def _progress(message: str) -> None:
    click.echo(click.style(f"· {message}", dim=True), err=True)
