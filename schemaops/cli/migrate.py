"""``schemaops migrate``: apply migrations with timeouts, retries and deploy phases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from schemaops import defaults
from schemaops.cli import _options as opts
from schemaops.durations import Duration, PgDuration
from schemaops.phases import Phase

if TYPE_CHECKING:
    from schemaops.config import ProjectOptions

EPILOG = """\b
Examples:
  schemaops migrate --plan                      # what would run, its phase and findings
  schemaops migrate --plan --stats prod-stats.json   # with estimated lock durations
  schemaops migrate --phase pre                 # before the deploy: additive migrations only
  schemaops migrate --phase post                # after the deploy: the contract migrations
  schemaops migrate orders 0007 --lock-timeout 2s --retries 10
  schemaops migrate --allow orders.0007_drop_legacy   # apply despite its error findings
"""


@click.command("migrate", epilog=EPILOG)
@click.argument("app_label", required=False)
@click.argument("migration_name", required=False)
@opts.project
@click.option(
    "--phase",
    type=click.Choice([p.value for p in Phase]),
    help="pre: only pre-deploy (additive) migrations; post: the contract migrations.",
)
@click.option(
    "--plan", "plan_only", is_flag=True, help="Show the plan and findings; apply nothing."
)
@click.option(
    "--allow",
    multiple=True,
    metavar="APP.MIGRATION",
    help="Apply this migration despite error findings (repeatable).",
)
@click.option(
    "--lock-timeout",
    type=PgDuration(),
    metavar="DURATION",
    help=f"lock_timeout per statement (default {defaults.LOCK_TIMEOUT}; 500ms, 1min; "
    "a bare number is ms).",
)
@click.option(
    "--statement-timeout",
    type=PgDuration(),
    metavar="DURATION",
    help=f"statement_timeout (default {defaults.STATEMENT_TIMEOUT} = none).",
)
@click.option(
    "--retries",
    type=click.IntRange(0),
    metavar="N",
    help=f"Retries after a lock timeout ({defaults.RETRIES}).",
)
@click.option(
    "--retry-delay",
    type=Duration(),
    default=defaults.RETRY_DELAY,
    show_default=True,
    metavar="DURATION",
    help="First backoff delay (2s, 500ms; a bare number is seconds); doubles each retry.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: the plan (--plan) or what was applied, retries and blockers, as one document.",
)
@click.option("-v", "--verbose", is_flag=True, help="--plan: the full findings, recipes included.")
@opts.quiet
@click.option(
    "--noinput",
    "--no-input",
    "noinput",
    is_flag=True,
    help="Accepted as manage.py migrate takes it; schemaops migrate never prompts.",
)
@opts.stats
@opts.lock_budget
@click.pass_context
def migrate_command(
    ctx: click.Context,
    app_label: str | None,
    migration_name: str | None,
    project: ProjectOptions,
    phase: str | None,
    **options: Any,
) -> None:
    """Apply migrations safely: lock timeouts, retries, deploy phases.

    Every statement runs with lock_timeout and statement_timeout set. A
    statement or atomic migration that hits the lock timeout is retried with
    exponential backoff and jitter; an atomic migration is retried whole, a
    non-atomic one resumes (an INVALID index from a failed concurrent build is
    dropped and rebuilt). Migrations with error findings from `schemaops check`
    are refused unless --allow names them.

    Exit status: 0 applied, 1 refused or failed, 2 usage or configuration error.
    """
    from schemaops.apply.command import MigrateOptions, run_migrate

    options.pop("noinput")
    parsed = MigrateOptions(
        project, app_label, migration_name, phase=Phase(phase) if phase else None, **options
    )
    ctx.exit(run_migrate(parsed))
