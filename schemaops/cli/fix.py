"""``schemaops fix``: write the safe expand/contract sequence for unapplied migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from schemaops.cli import _options as opts

if TYPE_CHECKING:
    from schemaops.config import ProjectOptions

EPILOG = """\b
Examples:
  schemaops fix --dry-run                 # the diff, nothing written
  schemaops fix orders 0007               # one migration
  schemaops fix --since origin/main --verify
  schemaops fix --since origin/main       # no database here: the files added since origin/main
"""


@click.command("fix", epilog=EPILOG)
@click.argument("app_label", required=False)
@click.argument("migration_name", required=False)
@opts.project
@click.option("--since", metavar="GITREF", help="Only migration files changed since GITREF.")
@click.option("--dry-run", is_flag=True, help="Print the diff of what would be written.")
@click.option(
    "--verify",
    is_flag=True,
    help="Then check the result and apply it on a seeded scratch database (trace).",
)
@opts.pg_version("[tool.schemaops], else 15")
@opts.quiet
@click.pass_context
def fix_command(
    ctx: click.Context,
    app_label: str | None,
    migration_name: str | None,
    project: ProjectOptions,
    since: str | None,
    dry_run: bool,
    verify: bool,
    pg_version: int | None,
    quiet: bool,
) -> None:
    """Rewrite unsafe unapplied migrations into the safe sequence.

    Each unsafe operation becomes migrations that only add and never block
    (CONCURRENTLY in a non-atomic migration, NOT VALID then VALIDATE), and a
    removal becomes a state-only change before the deploy plus a post-deploy
    migration (deploy_phase = "post") that drops it. The migration keeps its
    name, so migrations that depend on it stay valid. Applied migrations (as
    the database records them) and squashed migrations are never rewritten.

    Without a reachable database, fix rewrites only what is clearly unapplied:
    the migration named as APP MIGRATION, or the migration files added since
    --since REF; one line on stderr says what it assumed.

    Exit status: 0 written (or nothing to fix), 1 --verify failed, 2 usage or
    configuration error.
    """
    from schemaops.remedy.command import FixOptions, run_fix

    parsed = FixOptions(
        project, app_label, migration_name, since, dry_run, verify, pg_version, quiet
    )
    ctx.exit(run_fix(parsed))
