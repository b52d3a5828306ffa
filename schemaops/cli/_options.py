"""Options shared by several subcommands, defined once so help text stays consistent.

Click only: the types the options become (:class:`~schemaops.config.ProjectOptions`,
each command's own options dataclass) live next to the code that uses them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from schemaops.config import ProjectOptions
from schemaops.reporting import FORMATS, FailOn, emit

__all__ = [
    "config_file",
    "database",
    "dsn",
    "emit",
    "output_format",
    "pg_version",
    "project",
    "pythonpath",
    "quiet",
    "settings",
]

F = TypeVar("F", bound=Callable[..., Any])

settings = click.option(
    "--settings",
    metavar="MODULE",
    help="Django settings module (default: DJANGO_SETTINGS_MODULE, then [tool.schemaops]).",
)
pythonpath = click.option(
    "--pythonpath",
    metavar="DIR",
    type=click.Path(file_okay=False),
    help="A folder to put on sys.path before loading the settings.",
)
database = click.option(
    "--database",
    metavar="ALIAS",
    default=None,
    help="Django database alias (default: 'default').",
)
dsn = click.option(
    "--dsn",
    metavar="URL",
    envvar="SCHEMAOPS_DSN",
    help="postgresql://... URL of the server (instead of a Django project).",
)
config_file = click.option(
    "--config",
    "config_path",
    metavar="FILE",
    type=click.Path(dir_okay=False, exists=True),
    help="pyproject.toml to read [tool.schemaops] from (default: the nearest one).",
)

stats = click.option(
    "--stats",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="A `schemaops stats` snapshot: state table sizes and estimated lock durations.",
)
lock_budget = click.option(
    "--lock-budget",
    metavar="DURATION",
    help="With --stats: a step estimated within it is a warning, not an error (250ms).",
)


baseline = click.option(
    "--baseline", metavar="FILE", help="Ignore findings recorded in this baseline."
)
write_baseline = click.option(
    "--write-baseline", metavar="FILE", help="Record every current finding in FILE and exit 0."
)
fail_on = click.option(
    "--fail-on",
    type=click.Choice([f.value for f in FailOn]),
    default=FailOn.ERROR.value,
    show_default=True,
    help="Lowest severity that makes the exit status 1.",
)


quiet = click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="No progress and no notes on stderr: only the result, warnings and errors.",
)
"""-q/--quiet, the same on every command: progress lines and bars, and notes (skipped
checks, "nothing to do", where a file was written), are left out; the report or result
(stdout, -o FILE), warnings and errors are not. Output that is not on a terminal is
unchanged otherwise, so a CI log with -q differs only by those lines."""


def adoption(func: F) -> F:
    """--baseline, --write-baseline and --fail-on: how a team adopts a gate, same everywhere."""
    for decorator in reversed((baseline, write_baseline, fail_on)):
        func = decorator(func)
    return func


def pg_version(default: str) -> Callable[[F], F]:
    """--pg-version N: the PostgreSQL major version the rules judge for; ``default`` says
    where the version comes from without it."""
    return click.option(
        "--pg-version",
        type=click.IntRange(9, 30),
        metavar="N",
        help=f"Target PostgreSQL major version (default: {default}).",
    )


def output_format(formats: tuple[str, ...] = FORMATS, default: str = "text") -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(formats),
        default=default,
        show_default=True,
        help="Output format.",
    )


def project(func: F) -> F:
    """--settings, --pythonpath, --database and --config, in that order in --help.

    The command receives them as one ``project:`` :class:`ProjectOptions`.
    """

    @functools.wraps(func)
    def with_project(
        *args: Any,
        settings: str | None,
        pythonpath: str | None,
        database: str | None,
        config_path: str | None,
        **kwargs: Any,
    ) -> Any:
        project = ProjectOptions(settings, pythonpath, database, config_path)
        return func(*args, project=project, **kwargs)

    wrapped: F = cast(F, with_project)
    for decorator in reversed((settings, pythonpath, database, config_file)):
        wrapped = decorator(wrapped)
    return wrapped
