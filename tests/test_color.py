"""NO_COLOR and --no-color, also through manage.py schemaops."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner
from support import SAMPLE, run_cli

from schemaops.cli import cli
from schemaops.management.commands.schemaops import _color_first

ANSI = "\x1b["


def _check(*args: str, env: dict[str, str] | None = None) -> str:
    # color=True: CliRunner behaves like a terminal, where colour is on by default
    result = CliRunner().invoke(cli, [*args, "explain", "SO201"], color=True, env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_colour_on_a_terminal_by_default_and_off_with_no_color():
    assert ANSI in _check()
    assert ANSI not in _check(env={"NO_COLOR": "1"})
    assert ANSI not in _check("--no-color")
    assert ANSI in _check("--color", env={"NO_COLOR": "1"})


def test_manage_py_moves_djangos_no_color_before_the_subcommand():
    assert _color_first(["check", "--no-color", "--format", "json"]) == [
        "--no-color", "check", "--format", "json",
    ]  # fmt: skip
    assert _color_first(["check", "--", "--no-color"]) == ["check", "--", "--no-color"]


def test_manage_py_schemaops_accepts_no_color_after_the_command():
    run = subprocess.run(
        [sys.executable, "manage.py", "schemaops", "explain", "SO201", "--color"],
        cwd=SAMPLE, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert ANSI in run.stdout  # forced on, though stdout is a pipe
    plain = subprocess.run(
        [sys.executable, "manage.py", "schemaops", "explain", "SO201", "--no-color"],
        cwd=SAMPLE, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert plain.returncode == 0 and ANSI not in plain.stdout
    assert run_cli("--no-color", "explain", "SO201").returncode == 0
