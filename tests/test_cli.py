"""The command line as a user meets it: --version, --help with examples, completion.

Each call is a real ``python -m schemaops`` process, so what is imported for
``--help`` is what a user's shell pays for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
import pytest
from support import ROOT, run_cli

from schemaops import __version__
from schemaops.cli import COMMANDS, LazyGroup, cli


def all_command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand, as argument tuples (``("backfill", "start")``)."""
    paths: list[tuple[str, ...]] = []
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = LazyGroup.get_command(cli, ctx, name)  # type: ignore[arg-type]
        assert command is not None, f"COMMANDS lists {name!r} but it cannot be loaded"
        paths.append((name,))
        if isinstance(command, click.Group):
            paths += [(name, sub) for sub in command.list_commands(ctx)]
    return paths


def test_version() -> None:
    result = run_cli("--version", cwd=ROOT)
    assert result.returncode == 0
    assert result.stdout.strip() == f"schemaops, version {__version__}"


def test_top_level_help_lists_commands_without_importing_django_or_celery() -> None:
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('IMPORTED', sorted(m for m in ('django', 'celery', "
        "'pglast', 'sarif_om') if m in sys.modules), file=sys.stderr))\n"
        "from schemaops.cli import main\n"
        "main(['--help'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "IMPORTED []" in result.stderr
    for name in COMMANDS:
        assert f"  {name} " in result.stdout
    assert "Example" in result.stdout


@pytest.mark.parametrize("path", all_command_paths(), ids=" ".join)
def test_every_command_help_has_an_example(path: tuple[str, ...]) -> None:
    result = run_cli(*path, "--help", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: schemaops " + " ".join(path))
    assert "Example" in result.stdout, f"`schemaops {' '.join(path)} --help` has no example"


def test_bash_completion_script_and_completions() -> None:
    script = run_cli(cwd=ROOT, env={"_SCHEMAOPS_COMPLETE": "bash_source"})
    assert script.returncode == 0
    assert "_schemaops_completion()" in script.stdout
    assert "complete -o nosort -F _schemaops_completion schemaops" in script.stdout

    def complete(words: str) -> list[str]:
        env = {
            "_SCHEMAOPS_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        }
        result = run_cli(cwd=ROOT, env=env)
        assert result.returncode == 0, result.stderr
        return [line.split(",", 1)[1] for line in result.stdout.splitlines()]

    assert complete("schemaops ch") == ["check"]
    assert complete("schemaops check --for") == ["--format"]
    assert "gitlab" in complete("schemaops check --format ")


@pytest.mark.parametrize("shell", ["zsh_source", "fish_source"])
def test_other_shells_get_a_completion_script(shell: str) -> None:
    result = run_cli(cwd=ROOT, env={"_SCHEMAOPS_COMPLETE": shell})
    assert result.returncode == 0 and "_SCHEMAOPS_COMPLETE" in result.stdout


def test_check_rejects_mixed_targets_with_one_line() -> None:
    result = run_cli("check", "orders", "orders/migrations/0001_initial.py")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "schemaops: error: give either APP [MIGRATION] or migration files, not both"
    ]


def test_check_missing_file_is_a_usage_error() -> None:
    result = run_cli("check", "orders/migrations/9999_nope.py")
    assert result.returncode == 2
    assert "no such file: orders/migrations/9999_nope.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_files_select_exactly_those_migrations() -> None:
    result = run_cli(
        "check",
        "--format",
        "json",
        "orders/migrations/0005_remove_order_legacy_ref.py",
        "orders/models.py",
        "orders/migrations/__init__.py",
    )
    assert result.returncode == 1, result.stderr
    payload = json.loads(result.stdout)
    assert payload["summary"]["migrations"] == 1
    assert {f["migration"] for f in payload["findings"]} == {"0005_remove_order_legacy_ref"}


def test_rules_full_needs_markdown() -> None:
    result = run_cli("rules", "--full", cwd=ROOT)
    assert result.returncode == 2 and "--full needs --format markdown" in result.stderr


def test_explain_prints_the_rule_docs_sections() -> None:
    result = run_cli("explain", "drop-column", cwd=ROOT)
    assert result.returncode == 0
    for title in ("What it does", "Why is this bad?", "Example", "Use instead", "References"):
        assert title in result.stdout
