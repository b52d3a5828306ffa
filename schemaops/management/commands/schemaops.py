"""``python manage.py schemaops <command> [args]``: the console script, inside Django.

The arguments go to the very Click group behind the ``schemaops`` console
script (:mod:`schemaops.cli`), so every subcommand, option, output format and
exit status is the same. Django is already set up by ``manage.py``;
:func:`schemaops.project.setup_django` sees that and uses the running project.

Example::

    python manage.py schemaops check --since origin/main --format github
"""

from __future__ import annotations

import argparse
import contextlib
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _color_first(args: list[str]) -> list[str]:
    """Django's --no-color (and --color), wherever it was given, as schemaops' own option.

    Every Django command takes ``--no-color`` after its name; schemaops takes it
    before the subcommand. Arguments after ``--`` are left alone.
    """
    end = args.index("--") if "--" in args else len(args)
    flags = [a for a in args[:end] if a in ("--no-color", "--color")]
    rest = [a for a in args[:end] if a not in ("--no-color", "--color")]
    return [*flags[-1:], *rest, *args[end:]]


class Command(BaseCommand):
    help = (
        "Run a schemaops command inside this project (the same as the `schemaops` console "
        "script). Example: python manage.py schemaops check --format github"
    )
    requires_system_checks: list[str] = []  # the subcommands report their own findings

    def run_from_argv(self, argv: list[str]) -> None:
        """``manage.py schemaops ARGS``: hand ARGS to Click untouched; exit with its status."""
        from schemaops.cli import main

        main(_color_first(argv[2:]), prog_name=f"{os.path.basename(argv[0])} {argv[1]}")

    def print_help(self, prog_name: str, subcommand: str) -> None:
        """``manage.py help schemaops``: the group's own help."""
        from schemaops.cli import main

        with contextlib.suppress(SystemExit):
            main(["--help"], prog_name=f"{os.path.basename(prog_name)} {subcommand}")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("args", nargs=argparse.REMAINDER, help="a schemaops command")

    def handle(self, *args: str, **options: Any) -> None:
        """``call_command("schemaops", "check", ...)``: a non-zero status raises CommandError."""
        from schemaops.cli import main

        try:
            main(list(args), prog_name="schemaops")
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            if code:
                raise CommandError(
                    f"schemaops exited with status {code}", returncode=code
                ) from None
