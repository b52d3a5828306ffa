"""``schemaops check``: the pre-deploy migration gate."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from schemaops.cli import _options as opts
from schemaops.reporting import FailOn, OutputFormat

if TYPE_CHECKING:
    from schemaops.config import ProjectOptions

EPILOG = """\b
Examples:
  schemaops check --settings shop.settings
  schemaops check --since origin/main --format github
  schemaops check orders 0007 --format markdown
  schemaops check orders/migrations/0007_order_status.py   # files (pre-commit)
  schemaops check --database default --unapplied --pg-version 16
  schemaops check --stats prod-stats.json      # estimate lock durations on production sizes
  schemaops check --write-baseline .schemaops-baseline.json   # adopt on a legacy project
"""


@click.command("check", epilog=EPILOG)
@click.argument("targets", nargs=-1, metavar="[APP [MIGRATION] | FILE...]")
@opts.project
@click.option("--app", "apps", multiple=True, metavar="LABEL", help="Only these apps (repeatable).")
@click.option(
    "--exclude-app",
    "exclude_apps",
    multiple=True,
    metavar="LABEL",
    help="Skip these apps (repeatable).",
)
@click.option(
    "--since",
    metavar="GITREF",
    help="Only migration files added or edited since GITREF (committed or not).",
)
@click.option(
    "--unapplied",
    is_flag=True,
    help="Only migrations the database has not applied (needs a server).",
)
@opts.pg_version("the server's, else 15")
@click.option("--select", multiple=True, metavar="RULE", help="Run only these rules.")
@click.option("--ignore", multiple=True, metavar="RULE", help="Skip these rules.")
@opts.adoption
@click.option("--sql", "show_sql", is_flag=True, help="Generate and show each operation's SQL.")
@click.option(
    "--trace",
    "with_trace",
    is_flag=True,
    help="Also run the migrations on a scratch database and merge the observed locks.",
)
@opts.stats
@opts.lock_budget
@opts.output_format()
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
@click.option(
    "--summary",
    "compact",
    is_flag=True,
    help="Text: one line per operation (its worst hazard and every rule code).",
)
@click.option("--show-info", is_flag=True, help="Text: show info findings (hidden by default).")
@click.option("-v", "--verbose", is_flag=True, help="Show info findings and their recipes too.")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    metavar="N",
    help="Lint a large selection in up to N processes, a share of the apps each "
    "(default: one per CPU; 1: one process). The report is the same.",
)
@opts.quiet
@click.pass_context
def check_command(
    ctx: click.Context,
    targets: tuple[str, ...],
    project: ProjectOptions,
    fail_on: str,
    fmt: str,
    **options: Any,
) -> None:
    """Lint migrations before a deploy.

    Enforces additive-only (expand/contract) migrations, flags operations that
    lock or rewrite a table, breaks rollbacks or misses an index, and prints
    the lock each one takes and a safe recipe to paste. Works offline; with
    --database it learns the server version and which migrations are applied.

    Name one migration as APP MIGRATION, or give migration files (what
    pre-commit passes): files that are not migrations of the project are
    skipped.

    Exit status: 0 clean, 1 error findings, 2 usage or configuration error.
    """
    from schemaops._gc import exit_now, gc_paused

    # A short run that keeps what it allocates: the cyclic GC would only rescan it,
    # during the run and once more when the command ends.
    with gc_paused(freeze=True):
        from schemaops.gate.command import CheckOptions, run_check

        code = run_check(
            CheckOptions(
                project, targets, fail_on=FailOn(fail_on), fmt=OutputFormat(fmt), **options
            )
        )
    if not (project.database or options["unapplied"] or options["with_trace"]):
        exit_now(code)  # offline, in the console script: the report is out, nothing is open
    ctx.exit(code)
