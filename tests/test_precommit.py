"""The pre-commit hooks in .pre-commit-hooks.yaml, run the way pre-commit runs them.

First by hand (entry + args + the files that pass the hook's filters), then
by pre-commit itself: installed as a git hook in a throwaway repository, a
``git commit`` of an unsafe migration is refused and a safe one goes through.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from identify.identify import tags_from_path
from sample_repo import (
    BIN,
    SAFE_OPERATION,
    UNSAFE_OPERATION,
    add_migration,
    git,
    make_repo,
    tool_env,
)
from support import ROOT

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
BY_ID = {hook["id"]: hook for hook in HOOKS}


def selected_files(hook: dict[str, Any], repo: Path, files: list[str]) -> list[str]:
    """pre-commit's filter: ``files`` and ``exclude`` with re.search, then ``types``."""
    include = re.compile(hook.get("files", ""))
    exclude = re.compile(hook.get("exclude", "^$"))
    types = set(hook.get("types", ["file"]))
    return [
        f
        for f in files
        if include.search(f) and not exclude.search(f) and types <= tags_from_path(str(repo / f))
    ]


def run_hook_by_hand(hook: dict[str, Any], repo: Path, files: list[str]) -> Any:
    argv = [*shlex.split(hook["entry"]), *hook.get("args", [])]
    if hook.get("pass_filenames", True):
        argv += selected_files(hook, repo, files)
    argv[0] = str(BIN / argv[0])  # what `language: python|system` finds on PATH
    return subprocess.run(argv, cwd=repo, env=tool_env(), capture_output=True, text=True)


def test_hook_definitions_are_what_pre_commit_needs() -> None:
    assert set(BY_ID) == {"schemaops-check", "schemaops-check-system"}
    for hook in HOOKS:
        assert shlex.split(hook["entry"]) == ["schemaops", "check"]
        assert hook["pass_filenames"] is True
        assert hook["language"] in {"python", "system"}
        include = re.compile(hook["files"])
        assert include.search("orders/migrations/0007_order_status.py")
        assert include.search("src/shop/orders/migrations/0001_initial.py")
        assert not include.search("orders/models.py")
        assert not include.search("orders/migrations/README.md")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "shop")


@pytest.mark.parametrize("hook_id", sorted(BY_ID))
def test_hook_run_by_hand_gates_only_the_committed_migrations(repo: Path, hook_id: str) -> None:
    hook = BY_ID[hook_id]
    unsafe = add_migration(repo, "orders", "drop_note", UNSAFE_OPERATION)
    changed = [unsafe, "orders/models.py", "orders/migrations/__init__.py", "README.md"]
    assert selected_files(hook, repo, changed) == [unsafe, "orders/migrations/__init__.py"]
    result = run_hook_by_hand(hook, repo, changed)
    assert result.returncode == 1, result.stderr
    assert "SO101" in result.stdout and unsafe in result.stdout
    assert "migrations: 1," in result.stdout  # the demo shop's own unsafe history is not linted

    Path(repo / unsafe).unlink()
    safe = add_migration(repo, "orders", "gift_message", SAFE_OPERATION)
    result = run_hook_by_hand(hook, repo, [safe, "orders/models.py"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "migrations: 1, 0 error(s)" in result.stdout


def test_hook_with_no_migration_file_passes(repo: Path) -> None:
    result = run_hook_by_hand(BY_ID["schemaops-check"], repo, ["orders/migrations/__init__.py"])
    assert result.returncode == 0, result.stderr
    assert "migrations: 0" in result.stdout


def _hooks_repo(path: Path) -> str:
    """A git repository holding .pre-commit-hooks.yaml; returns its commit."""
    path.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", path / ".pre-commit-hooks.yaml")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "hooks")
    return git(path, "rev-parse", "HEAD").strip()


def test_pre_commit_refuses_a_commit_with_an_unsafe_migration(repo: Path, tmp_path: Path) -> None:
    rev = _hooks_repo(tmp_path / "hooks")
    config = {
        "repos": [
            {
                "repo": str(tmp_path / "hooks"),
                "rev": rev,
                "hooks": [{"id": "schemaops-check-system"}],
            }
        ]
    }
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    env = tool_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True, timeout=300)

    installed = run(str(BIN / "pre-commit"), "install")
    assert installed.returncode == 0, installed.stderr
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "pre-commit")  # no migration: the hook is skipped

    unsafe = add_migration(repo, "orders", "drop_note", UNSAFE_OPERATION)
    git(repo, "add", unsafe)
    refused = run("git", "commit", "-m", "drop Order.note")
    output = refused.stdout + refused.stderr  # git shows the hook's output on stderr
    assert refused.returncode == 1, output
    assert "schemaops check" in output and "Failed" in output
    assert "SO101" in output and unsafe in output

    git(repo, "rm", "-q", "--cached", unsafe)
    Path(repo / unsafe).unlink()
    safe = add_migration(repo, "orders", "gift_message", SAFE_OPERATION)
    git(repo, "add", safe)
    accepted = run("git", "commit", "-m", "add Order.gift_message")
    output = accepted.stdout + accepted.stderr
    assert accepted.returncode == 0, output
    assert "schemaops check" in output and "Passed" in output
    assert git(repo, "log", "-1", "--format=%s").strip() == "add Order.gift_message"


def _source_repo(path: Path) -> str:
    """A git repository of this source tree, as pre-commit clones schemaops; its commit."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in ("schemaops", "checks", "backfill"):
        shutil.copytree(ROOT / folder, path / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, path / name)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "schemaops")
    return git(path, "rev-parse", "HEAD").strip()


@pytest.mark.slow
def test_pre_commit_builds_the_python_hook_and_runs_it(repo: Path, tmp_path: Path) -> None:
    """`language: python`: pre-commit pip-installs schemaops into an env of its own."""
    rev = _source_repo(tmp_path / "schemaops-src")
    config = {
        "repos": [
            {
                "repo": str(tmp_path / "schemaops-src"),
                "rev": rev,
                "hooks": [{"id": "schemaops-check"}],
            }
        ]
    }
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    unsafe = add_migration(repo, "orders", "drop_note", UNSAFE_OPERATION)
    env = tool_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    env["PATH"] = env["PATH"].split(os.pathsep, 1)[1]  # the hook must bring its own schemaops
    result = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--files", unsafe, "orders/models.py"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "SO101" in result.stdout and "migrations: 1, 1 error(s)" in result.stdout
