"""Options shared by several subcommands, defined once so help text stays consistent."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from schemaops import config as config_module
from schemaops.reporting import FORMATS

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
    """--settings, --pythonpath, --database and --config, in that order in --help."""
    for decorator in reversed((settings, pythonpath, database, config_file)):
        func = decorator(func)
    return func


def load_config(config_path: str | None = None, **overrides: Any) -> config_module.Config:
    """[tool.schemaops] first, then the environment, then the command line.

    As with django-admin, ``--settings`` beats ``DJANGO_SETTINGS_MODULE``, which
    beats ``settings`` in the file.
    """
    cfg = config_module.load(Path(config_path) if config_path else None)
    if not overrides.get("settings") and os.environ.get("DJANGO_SETTINGS_MODULE"):
        overrides["settings"] = os.environ["DJANGO_SETTINGS_MODULE"]
    return cfg.override(**overrides)


def project_config(options: dict[str, Any], *keys: str) -> config_module.Config:
    """The config for a command taking the ``project`` options, plus ``keys`` of its own.

    ``options`` are the command's keyword arguments; each of ``keys`` names one that
    overrides the [tool.schemaops] key of the same name.
    """
    return load_config(
        options.get("config_path"),
        settings=options.get("settings"),
        pythonpath=options.get("pythonpath"),
        database=options.get("database"),
        **{key: options.get(key) for key in keys},
    )


def emit(text: str, output: str | None = None) -> None:
    """Write a rendered report to stdout or to a file."""
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
