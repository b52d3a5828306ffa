"""The body of ``schemaops trace``: configuration, selection, run, render."""

from __future__ import annotations

from typing import Any

import click

from schemaops.cli import _options as opts
from schemaops.config import Config
from schemaops.db import connect, connection_params, describe
from schemaops.errors import ConfigError, RunFailed
from schemaops.project import setup_django
from schemaops.selection import Selection, load_graph


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
) -> tuple[Any, set[tuple[str, str]]]:
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


def run_trace_command(app_label: str | None, migration_name: str | None, **o: Any) -> int:
    from schemaops.trace.render import render
    from schemaops.trace.runner import TraceOptions, run_trace

    cfg = opts.project_config(o, "apps", "exclude_apps", "stats", "lock_budget")
    setup_django(cfg)
    params = target_params(cfg, o.get("dsn"))
    loader, selected = select(
        cfg,
        app_label,
        migration_name,
        since=o.get("since"),
        every=bool(o.get("every")),
        params=params,
    )
    if not selected:
        click.echo(f"schemaops trace: nothing to trace on {describe(params)}", err=True)
        return 0
    options = TraceOptions(
        alias=cfg.database,
        server=params if o.get("dsn") else None,
        from_database=bool(o.get("from_database")),
        rows=o.get("rows") or 0,
    )
    result = run_trace(selected, options, None if o.get("quiet") else _progress)
    if cfg.stats:
        from schemaops.stats.estimate import estimate_migrations

        result.estimates = estimate_migrations(loader, selected, cfg)
    opts.emit(render(result, o.get("fmt") or "text"), o.get("output"))
    if result.failed:
        raise RunFailed("a migration failed on the scratch database (see the trace above)")
    return 0


def _progress(message: str) -> None:
    click.echo(click.style(f"· {message}", dim=True), err=True)
