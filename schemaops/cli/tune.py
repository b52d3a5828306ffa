"""``schemaops tune``: PostgreSQL settings that fit the machine and the workload."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from schemaops.cli import _options as opts
from schemaops.cli._options import F
from schemaops.errors import ConfigError
from schemaops.tune.command import TuneOptions

if TYPE_CHECKING:
    from schemaops.config import ProjectOptions

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

    def __init__(self, name: str, convert: Callable[[str], Any]) -> None:
        self.name = name
        self._convert = convert

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self._convert(value)
        except ValueError:
            flag = "--" + str(param.name if param else self.name).replace("_", "-")
            raise ConfigError(f"{flag}: {value!r} is not a {self.name}") from None


def _memory(value: str) -> int:
    from schemaops.tune.inputs import parse_memory

    return parse_memory(value)


INTEGER = _Checked("whole number", int)
MEMORY = _Checked("memory size", _memory)
TEXT = _Checked("word", str.lower)


def _input_options(func: F) -> F:
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
    default=TuneOptions.fmt,
    show_default=True,
    help="text/json: the diff; conf: postgresql.conf lines; sql: ALTER SYSTEM statements.",
)
@click.option("--apply", "do_apply", is_flag=True, help="ALTER SYSTEM the changes and reload.")
@click.option("--yes", is_flag=True, help="Apply without asking.")
@click.option("--revert", is_flag=True, help="Restore the values saved by the last --apply.")
@click.option("--state-file", metavar="FILE", help="Where --apply saves previous values.")
@click.option("--bench", is_flag=True, help="pgbench before and after; prints the TPS ratios.")
@click.option(
    "--bench-scale",
    type=INTEGER,
    default=TuneOptions.bench_scale,
    show_default=True,
    metavar="N",
    help="pgbench scale (15MB each; 20 is larger than the default shared_buffers).",
)
@click.option(
    "--bench-seconds",
    type=INTEGER,
    default=TuneOptions.bench_seconds,
    show_default=True,
    metavar="S",
    help="Length of each pgbench run.",
)
@click.option(
    "--bench-clients",
    type=INTEGER,
    default=TuneOptions.bench_clients,
    show_default=True,
    metavar="N",
    help="pgbench clients.",
)
@click.option(
    "--restart-command",
    metavar="CMD",
    help="How --bench restarts the server so restart-only settings count.",
)
@opts.quiet
def tune_command(project: ProjectOptions, **options: Any) -> None:
    """Propose, explain, apply and verify PostgreSQL settings for this machine.

    Uses PGTune's formulas. Inputs are detected where possible (server
    version and settings over the connection; RAM and CPUs from this machine
    when the server runs here, within container limits) and each can be
    given on the command line. Prints each setting's current and proposed
    value, why, and whether it needs a restart.

    Exit status: 0 done, 2 bad input or no server for --apply/--revert/--bench.
    """
    from schemaops.tune.command import run_tune

    run_tune(TuneOptions(project, **options))
