"""The body of ``schemaops tune``: find the server, propose, then apply, revert or bench.

:mod:`schemaops.cli.tune` only turns the command line into a :class:`TuneOptions`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from schemaops.config import ProjectOptions, project_config
from schemaops.errors import ConfigError

if TYPE_CHECKING:
    from schemaops.tune.run import Target, TunePlan


@dataclass(frozen=True)
class TuneOptions:
    """Everything ``schemaops tune`` takes; None means "detect it" (or "not given")."""

    project: ProjectOptions = field(default_factory=ProjectOptions)
    dsn: str | None = None
    offline: bool = False
    # the machine and workload; each one given wins over what is detected
    memory: int | None = None  # total RAM in kB
    cpus: int | None = None
    storage: str | None = None
    max_connections: int | None = None
    workload: str | None = None
    pg_version: int | None = None
    db_size: str | None = None
    os_type: str | None = None
    fmt: str = "text"  # one of schemaops.tune.render.FORMATS
    do_apply: bool = False
    yes: bool = False
    revert: bool = False
    state_file: str | None = None
    bench: bool = False
    bench_scale: int = 20
    bench_seconds: int = 30
    bench_clients: int = 4
    restart_command: str | None = None
    quiet: bool = False  # -q: no --bench progress lines or notes on stderr

    def given(self) -> dict[str, Any]:
        """The inputs named on the command line, keyed as :func:`schemaops.tune.run.plan` reads."""
        return {
            "cpus": self.cpus,
            "storage": self.storage,
            "max_connections": self.max_connections,
            "workload": self.workload,
            "pg_version": self.pg_version,
            "db_size": self.db_size,
            "os_type": self.os_type,
            "ram_kb": self.memory,
        }

    @property
    def state_path(self) -> Path | None:
        return Path(self.state_file) if self.state_file else None


def run_tune(o: TuneOptions) -> None:
    """Propose (and print) settings; then apply, revert or bench them as asked."""
    if o.revert:
        _revert(_target(o, required=True), o)
        return
    needs_server = o.do_apply or o.bench
    target = None if o.offline and not needs_server else _target(o, required=needs_server)
    _tune(target, o)


def _target(o: TuneOptions, required: bool) -> Target:
    """The server to talk to: --dsn, then a Django project, then PG* variables."""
    from schemaops import db
    from schemaops.tune.run import Target

    if o.offline and required:
        raise ConfigError("--apply, --revert and --bench need a server; drop --offline")
    if o.dsn:
        return Target(db.connection_params(dsn=o.dsn), explicit=True)
    cfg = project_config(o.project)
    if o.project.database or cfg.settings or os.environ.get("DJANGO_SETTINGS_MODULE"):
        # a project's database, named here or in its configuration: when it is down, tuning
        # this machine instead would answer a question nobody asked
        from schemaops.project import setup_django

        setup_django(cfg)
        params = db.connection_params(alias=cfg.database, use_django=True)
        return Target(params, explicit=True, config_pg_version=cfg.pg_version)
    return Target({}, explicit=required, config_pg_version=cfg.pg_version)


def _tune(target: Target | None, o: TuneOptions) -> None:
    from schemaops.tune import render, run

    result = run.plan(target, o.given())
    if (o.do_apply or o.bench) and result.target is None:
        raise ConfigError(f"--apply and --bench need a server: {result.offline_reason}")
    click.echo(render.render(result, o.fmt))
    if target is None:
        return
    if o.bench:
        _bench(target, result, o)
    elif o.do_apply:
        _apply(target, result, o)


def _apply(target: Target, result: TunePlan, o: TuneOptions) -> None:
    from schemaops import db
    from schemaops.tune import apply, render

    if not result.changes:
        if not o.quiet:
            click.echo("Nothing to apply: every setting is within 5% of the proposal.", err=True)
        return
    if not o.yes:
        click.confirm(f"Run ALTER SYSTEM for {len(result.changes)} settings?", abort=True)
    with db.connected(target.params, application_name="schemaops tune") as conn:
        outcome = apply.apply_rows(conn, result.changes, o.state_path)
    click.echo(render.render_apply(outcome, "Changed"), err=o.fmt != "text")


def _revert(target: Target, o: TuneOptions) -> None:
    from schemaops import db
    from schemaops.tune import apply, render

    with db.connected(target.params, application_name="schemaops tune") as conn:
        outcome = apply.revert(conn, o.state_path)
    click.echo(render.render_apply(outcome, "Restored"))


def _bench(target: Target, result: TunePlan, o: TuneOptions) -> None:
    from schemaops.tune import bench, render

    options = bench.BenchOptions(
        scale=o.bench_scale,
        seconds=o.bench_seconds,
        clients=o.bench_clients,
        restart_command=o.restart_command,
        keep=o.do_apply,
        state_file=o.state_path,
    )
    if not o.yes:
        click.confirm(
            f"Benchmark: apply {len(result.changes)} settings, then put them back"
            + (" (kept: --apply)" if o.do_apply else "")
            + "?",
            abort=True,
        )
    progress = (lambda message: None) if o.quiet else _progress
    report = bench.run_bench(target.params, result.changes, options, progress=progress)
    click.echo(render.render_bench(report))


def _progress(message: str) -> None:
    click.echo(f"bench: {message}", err=True)
