"""The ``schemaops`` command: a lazy Click group and the one place errors become exit codes.

Subcommands live one per module in this package and are imported only when
invoked, so ``schemaops --help`` never imports Django or Celery.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

import click

from schemaops import __version__
from schemaops.errors import EXIT_USAGE, SchemaopsError
from schemaops.redaction import redact

# command name -> "module:attribute", in the order --help lists them
COMMANDS = {
    "check": "schemaops.cli.check:check_command",
    "rules": "schemaops.cli.rules:rules_command",
    "explain": "schemaops.cli.rules:explain_command",
    "fix": "schemaops.cli.fix:fix_command",
    "trace": "schemaops.cli.trace:trace_command",
    "migrate": "schemaops.cli.migrate:migrate_command",
    "backfill": "schemaops.cli.backfill:backfill_group",
    "tune": "schemaops.cli.tune:tune_command",
    "audit": "schemaops.cli.audit:audit_command",
    "stats": "schemaops.cli.stats:stats_command",
}

_SHORT_HELP = {
    "check": "Lint migrations before a deploy (the CI gate).",
    "rules": "List every migration rule.",
    "explain": "Explain one rule: lock, why, safe recipe.",
    "fix": "Rewrite unapplied unsafe migrations into the safe expand/contract sequence.",
    "trace": "Run migrations on a scratch database and record the real locks.",
    "migrate": "Apply migrations with timeouts, retries and deploy phases.",
    "backfill": "Throttled, resumable Celery backfills in small batches.",
    "tune": "PostgreSQL memory and configuration settings that fit the machine.",
    "audit": "Audit a live database: missing indexes first.",
    "stats": "Snapshot table sizes and write rates for check --stats.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Describe commands without importing them, so --help stays instant.
        rows = [(name, _SHORT_HELP.get(name, "")) for name in COMMANDS]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Example: schemaops check --settings shop.settings --format github",
)
@click.version_option(__version__, prog_name="schemaops")
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the output (default: on a terminal, unless NO_COLOR is set).",
)
@click.pass_context
def cli(ctx: click.Context, color: bool | None) -> None:
    """Zero-downtime schema and data changes for Django on PostgreSQL."""
    ctx.color = color_choice(color)


def color_choice(flag: bool | None) -> bool | None:
    """--color/--no-color, else off when NO_COLOR is set (https://no-color.org), else auto."""
    if flag is not None:
        return flag
    return False if os.environ.get("NO_COLOR") else None


def main(args: list[str] | None = None, prog_name: str = "schemaops") -> None:
    """Entry point: run the group; exit with its status, errors as one line on stderr.

    Always ends in ``SystemExit``: 0 clean, 1 findings or a failed run, 2 usage error.
    """
    if args is None:  # the console script or `python -m schemaops`: the process ends here
        from schemaops import _gc

        _gc.FREEZE_AT_EXIT = True
    try:
        # standalone_mode=False: click returns ctx.exit()'s code instead of exiting.
        status = cli.main(args=args, prog_name=prog_name, standalone_mode=False)
    except SchemaopsError as exc:
        click.echo(f"schemaops: error: {redact(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("schemaops: aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        click.echo(f"{prog_name}: error: {_usage_line(exc)}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # one more Ctrl-C while leaving: no trace
        click.echo("schemaops: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("SCHEMAOPS_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        click.echo(
            f"schemaops: internal error: {type(exc).__name__}: {redact(first)} "
            "(set SCHEMAOPS_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    sys.exit(status if isinstance(status, int) else 0)


def _usage_line(exc: click.UsageError) -> str:
    """A usage error as one line, pointing at the command's --help."""
    message = " ".join(redact(exc.format_message()).split())
    if exc.ctx is None:
        return message
    return f"{message} (see '{exc.ctx.command_path} --help')"
