"""``schemaops audit``: a DBA audit of a live database, missing indexes first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from schemaops import defaults
from schemaops.cli import _options as opts
from schemaops.durations import PgDuration
from schemaops.reporting import FailOn

if TYPE_CHECKING:
    from schemaops.config import ProjectOptions

EPILOG = """\b
Examples:
  cd sample_project && schemaops audit            # the Django project's database
  schemaops audit --settings shop.settings --database default --format markdown
  schemaops audit --dsn postgresql://app@db.internal/shop --check AU101 --check AU104
  PGHOST=db PGDATABASE=shop schemaops audit --format sarif -o audit.sarif
  schemaops audit --dsn postgresql://app@db/saas --schema 'tenant_*' --exclude-schema tenant_test
  schemaops audit --list
"""


@click.command("audit", epilog=EPILOG)
@opts.project
@opts.dsn
@click.option(
    "--check",
    "check_refs",
    multiple=True,
    metavar="CODE",
    help="Run only this check (code or name; repeatable).",
)
@click.option(
    "--schema",
    "schemas",
    multiple=True,
    metavar="PATTERN",
    help="Audit only schemas matching this shell pattern (tenant_*; repeatable).",
)
@click.option(
    "--exclude-schema",
    "exclude_schemas",
    multiple=True,
    metavar="PATTERN",
    help="Leave out schemas matching this shell pattern (repeatable).",
)
@click.option("--list", "list_checks", is_flag=True, help="List the checks and exit.")
@click.option(
    "--no-models", is_flag=True, help="Do not load the Django project even if one is configured."
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="CODE",
    help="Leave this check out (code or name; repeatable).",
)
@opts.adoption
@opts.quiet
@click.option(
    "--timeout",
    type=PgDuration(),
    default=defaults.AUDIT_TIMEOUT,
    show_default=True,
    metavar="DURATION",
    help="statement_timeout and lock_timeout of each catalog query.",
)
@click.option("--memory", metavar="SIZE", help="Server RAM for AU401 (e.g. 16GB) when remote.")
@click.option("--cpus", type=click.IntRange(1, 4096), help="Server CPUs for AU401.")
@click.option(
    "--storage", type=click.Choice(["ssd", "nvme", "hdd", "san"]), help="Server storage for AU401."
)
@opts.output_format()
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
@click.option("-v", "--verbose", is_flag=True, help="Show the fixes of info findings too.")
@click.pass_context
def audit_command(ctx: click.Context, project: ProjectOptions, fmt: str, **options: Any) -> None:
    """Audit a live PostgreSQL database: indexes, schema, drift from the models, settings.

    Points at the Django project's database (--settings/--database, or the
    [tool.schemaops] settings), or at any database with --dsn or libpq's PG*
    variables (checks that need the models are then skipped). Read-only:
    the connection is opened with default_transaction_read_only.

    Exit status: 0 clean, 1 error findings or a check that failed, 2 usage or
    connection error.
    """
    from schemaops.audit.command import AuditOptions, run_audit_command
    from schemaops.reporting import OutputFormat

    options["fail_on"] = FailOn(options["fail_on"])
    ctx.exit(run_audit_command(AuditOptions(project, fmt=OutputFormat(fmt), **options)))
