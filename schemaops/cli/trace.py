"""``schemaops trace``: run migrations on a scratch database and record the real locks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from schemaops.cli import _options as opts

if TYPE_CHECKING:
    from schemaops.config import ProjectOptions

EPILOG = """\b
Examples:
  schemaops trace                               # the unapplied migrations of the project
  schemaops trace orders 0002 --rows 100000     # one migration, on a seeded table
  schemaops trace orders 0002 --stats prod-stats.json   # plus the estimates on production sizes
  schemaops trace --since origin/main --format markdown > trace.md
  schemaops trace --from-database --dsn postgresql://app@db/shop   # clone the target's schema
  schemaops trace --compat                      # do the old and the new code survive the deploy?
"""


@click.command("trace", epilog=EPILOG)
@click.argument("app_label", required=False)
@click.argument("migration_name", required=False)
@opts.project
@opts.dsn
@click.option("--app", "apps", multiple=True, metavar="LABEL", help="Only these apps (repeatable).")
@click.option(
    "--exclude-app", "exclude_apps", multiple=True, metavar="LABEL", help="Skip these apps."
)
@click.option("--since", metavar="GITREF", help="Only migration files changed since GITREF.")
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Trace the selected migrations even if the target has applied them.",
)
@click.option(
    "--from-database",
    is_flag=True,
    help="Start from a copy of the target's schema (pg_dump --schema-only), not from scratch.",
)
@click.option(
    "--rows",
    type=click.IntRange(0),
    default=0,
    metavar="N",
    help="Seed N synthetic rows into each table the migrations touch.",
)
@click.option(
    "--compat",
    is_flag=True,
    help="Replay the rollout instead: the old and the new code's models against the schema "
    "before, after the pre-deploy and after the post-deploy migrations.",
)
@opts.stats
@opts.lock_budget
@opts.output_format(("text", "json", "markdown"))
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
@opts.quiet
@click.pass_context
def trace_command(
    ctx: click.Context,
    app_label: str | None,
    migration_name: str | None,
    project: ProjectOptions,
    fmt: str,
    **options: Any,
) -> None:
    """Apply migrations to a scratch database and record what PostgreSQL really did.

    For every statement: the locks taken (and what they block), tables and
    indexes rewritten, columns and constraints changed, and the duration.
    The scratch database is created on the target server and always dropped.

    With --compat, the rollout is replayed instead: the old release's and the
    new release's models (rendered from the migration state) insert, read,
    update and delete rows of every table the migrations touch, on the schema
    before them, after the pre-deploy and after the post-deploy migrations.

    Exit status: 0 traced (with --compat: no break), 1 a migration failed on
    the scratch database (with --compat: or some code broke), 2 usage or
    configuration error.
    """
    from schemaops.reporting import OutputFormat
    from schemaops.trace.command import TraceCommandOptions, run_trace_command

    parsed = TraceCommandOptions(
        project, app_label, migration_name, fmt=OutputFormat(fmt), **options
    )
    ctx.exit(run_trace_command(parsed))
