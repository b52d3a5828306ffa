"""``schemaops stats``: a read-only snapshot of table sizes and write rates (``check --stats``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from schemaops.cli import _options as opts

if TYPE_CHECKING:
    from schemaops.config import ProjectOptions

EPILOG = """\b
Examples:
  schemaops stats --settings shop.settings -o prod-stats.json
  schemaops stats --dsn postgresql://stats_reader@db.internal/shop > prod-stats.json
  schemaops check --stats prod-stats.json       # verdicts that know the table sizes
"""


@click.command("stats", epilog=EPILOG)
@opts.project
@opts.dsn
@click.option(
    "--timeout",
    default="30s",
    show_default=True,
    metavar="DURATION",
    help="statement_timeout and lock_timeout of the snapshot's queries.",
)
@click.option("-o", "--output", metavar="FILE", help="Write the snapshot to FILE.")
@click.pass_context
def stats_command(ctx: click.Context, project: ProjectOptions, **options: Any) -> None:
    """Write a JSON snapshot of the database's table and index statistics.

    Read-only: one READ ONLY transaction with statement and lock timeouts;
    a role with only pg_read_all_stats is enough. The snapshot holds the
    server version, the maintenance settings, and per table and index the
    estimated rows, sizes, write rates, scans and last vacuum/analyze: no
    row data, no credentials, no query texts. Its schema is docs/stats.md.

    Exit status: 0 written, 2 usage error or no server.
    """
    from schemaops.stats.command import StatsOptions, run_stats

    ctx.exit(run_stats(StatsOptions(project, **options)))
