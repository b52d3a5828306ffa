"""``schemaops tune``: PostgreSQL settings that fit the machine and the workload."""

from __future__ import annotations

import os
from typing import Any

import click

from schemaops.cli import _options as opts
from schemaops.errors import ConfigError

EPILOG = """\b
Examples:
  schemaops tune                                   # the PG* server; diff and reasons
  schemaops tune --dsn postgresql://postgres@db1/app --workload oltp --storage nvme
  schemaops tune --offline --memory 64GB --cpus 16 --workload oltp --format conf
  schemaops tune --settings shop.settings --format sql > tune.sql
  schemaops tune --apply --yes      # ALTER SYSTEM + reload; then: schemaops tune --revert
  schemaops tune --bench --restart-command "pg_ctlcluster 15 main restart"
"""


class _Checked(click.ParamType):
    """A value checked by schemaops itself, so bad input is one line and exit 2."""

    def __init__(self, name: str, convert: Any) -> None:
        self.name = name
        self._convert = convert

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self._convert(value)
        except ValueError:
            flag = "--" + str(param.name).replace("_", "-")
            raise ConfigError(f"{flag}: {value!r} is not a {self.name}") from None


def _memory(value: str) -> int:
    from schemaops.tune.inputs import parse_memory

    return parse_memory(value)


INTEGER = _Checked("whole number", int)
MEMORY = _Checked("memory size", _memory)
TEXT = _Checked("word", str.lower)


def _input_options(func: Any) -> Any:
    options = [
        click.option("--memory", type=MEMORY, metavar="SIZE", help="Total RAM, e.g. 16GB."),
        click.option("--cpus", type=INTEGER, metavar="N", help="CPU count."),
        click.option("--storage", type=TEXT, metavar="ssd|nvme|hdd|san", help="Storage."),
        click.option("--max-connections", type=INTEGER, metavar="N", help="max_connections."),
        click.option(
            "--workload", type=TEXT, metavar="web|oltp|dw|mixed|desktop", help="Workload profile."
        ),
        click.option("--pg-version", type=INTEGER, metavar="N", help="PostgreSQL major version."),
        click.option(
            "--db-size",
            type=TEXT,
            metavar="less_ram|mid_ram|greater_ram",
            help="Total database size versus RAM (<1x, 1-3x, >3x).",
        ),
        click.option("--os", "os_type", type=TEXT, metavar="linux|windows|mac", help="Server OS."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command("tune", epilog=EPILOG)
@opts.dsn
@opts.project
@click.option("--offline", is_flag=True, help="Do not connect: propose from the inputs only.")
@_input_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "conf", "sql")),
    default="text",
    show_default=True,
    help="text/json: the diff; conf: postgresql.conf lines; sql: ALTER SYSTEM statements.",
)
@click.option("--apply", "do_apply", is_flag=True, help="ALTER SYSTEM the changes and reload.")
@click.option("--yes", is_flag=True, help="Apply without asking.")
@click.option("--revert", is_flag=True, help="Restore the values saved by the last --apply.")
@click.option("--state-file", metavar="FILE", help="Where --apply saves previous values.")
@click.option("--bench", is_flag=True, help="pgbench before and after; prints the TPS ratios.")
@click.option(
    "--bench-scale", type=INTEGER, default=20, show_default=True, metavar="N",
    help="pgbench scale (15MB each; 20 is larger than the default shared_buffers).",
)  # fmt: skip
@click.option(
    "--bench-seconds", type=INTEGER, default=30, show_default=True, metavar="S",
    help="Length of each pgbench run.",
)  # fmt: skip
@click.option(
    "--bench-clients", type=INTEGER, default=4, show_default=True, metavar="N",
    help="pgbench clients.",
)  # fmt: skip
@click.option(
    "--restart-command",
    metavar="CMD",
    help="How --bench restarts the server so restart-only settings count.",
)
def tune_command(**o: Any) -> None:
    """Propose, explain, apply and verify PostgreSQL settings for this machine.

    Uses PGTune's formulas. Inputs are detected where possible (server
    version and settings over the connection; RAM and CPUs from this machine
    when the server runs here, within container limits) and each can be
    given on the command line. Prints each setting's current and proposed
    value, why, and whether it needs a restart.

    Exit status: 0 done, 2 bad input or no server for --apply/--revert/--bench.
    """
    if o["revert"]:
        _revert(_target(o, required=True), o)
        return
    needs_server = o["do_apply"] or o["bench"]
    target = None if o["offline"] and not needs_server else _target(o, required=needs_server)
    _tune(target, o)


def _target(o: dict[str, Any], required: bool) -> Any:
    """The server to talk to: --dsn, then a Django project, then PG* variables."""
    from schemaops import db
    from schemaops.tune.run import Target

    if o["offline"] and required:
        raise ConfigError("--apply, --revert and --bench need a server; drop --offline")
    if o["dsn"]:
        return Target(db.connection_params(dsn=o["dsn"]), explicit=True)
    cfg = opts.load_config(o["config_path"], settings=o["settings"], pythonpath=o["pythonpath"])
    if o["settings"] or o["database"] or cfg.settings or os.environ.get("DJANGO_SETTINGS_MODULE"):
        # a project's database, named here or in its configuration: when it is down, tuning
        # this machine instead would answer a question nobody asked
        from schemaops.project import setup_django

        setup_django(cfg)
        params = db.connection_params(alias=o["database"] or cfg.database, use_django=True)
        return Target(params, explicit=True, config_pg_version=cfg.pg_version)
    return Target({}, explicit=required, config_pg_version=cfg.pg_version)


_GIVEN = ("cpus", "storage", "max_connections", "workload", "pg_version", "db_size", "os_type")


def _tune(target: Any, o: dict[str, Any]) -> None:
    from schemaops.tune import render, run

    given = {name: o[name] for name in _GIVEN}
    given["ram_kb"] = o["memory"]
    result = run.plan(target, given)
    if (o["do_apply"] or o["bench"]) and result.target is None:
        raise ConfigError(f"--apply and --bench need a server: {result.offline_reason}")
    click.echo(render.render(result, o["fmt"]))
    if o["bench"]:
        _bench(target, result, o)
    elif o["do_apply"]:
        _apply(target, result, o)


def _apply(target: Any, result: Any, o: dict[str, Any]) -> None:
    from pathlib import Path

    from schemaops import db
    from schemaops.tune import apply, render

    if not result.changes:
        click.echo("Nothing to apply: every setting is within 5% of the proposal.", err=True)
        return
    if not o["yes"]:
        click.confirm(f"Run ALTER SYSTEM for {len(result.changes)} settings?", abort=True)
    state = Path(o["state_file"]) if o["state_file"] else None
    with db.connected(target.params, application_name="schemaops tune") as conn:
        outcome = apply.apply_rows(conn, result.changes, state)
    click.echo(render.render_apply(outcome, "Changed"), err=o["fmt"] != "text")


def _revert(target: Any, o: dict[str, Any]) -> None:
    from pathlib import Path

    from schemaops import db
    from schemaops.tune import apply, render

    state = Path(o["state_file"]) if o["state_file"] else None
    with db.connected(target.params, application_name="schemaops tune") as conn:
        outcome = apply.revert(conn, state)
    click.echo(render.render_apply(outcome, "Restored"))


def _bench(target: Any, result: Any, o: dict[str, Any]) -> None:
    from pathlib import Path

    from schemaops.tune import bench, render

    options = bench.BenchOptions(
        scale=o["bench_scale"],
        seconds=o["bench_seconds"],
        clients=o["bench_clients"],
        restart_command=o["restart_command"],
        keep=o["do_apply"],
        state_file=Path(o["state_file"]) if o["state_file"] else None,
    )
    if not o["yes"]:
        click.confirm(
            f"Benchmark: apply {len(result.changes)} settings, then put them back"
            + (" (kept: --apply)" if o["do_apply"] else "")
            + "?",
            abort=True,
        )
    report = bench.run_bench(target.params, result.changes, options, progress=_progress)
    click.echo(render.render_bench(report))


def _progress(message: str) -> None:
    click.echo(f"bench: {message}", err=True)
