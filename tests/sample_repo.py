"""A throwaway git repository holding a copy of the demo shop, as a user's project would be.

Used by the pre-commit and CI-recipe tests: they commit migrations to it and
run schemaops the way pre-commit or a CI job would.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from support import SAMPLE

GIT_ENV = {
    "GIT_AUTHOR_NAME": "schemaops tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "schemaops tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}
BIN = Path(sys.executable).parent  # the virtualenv running the tests: schemaops, pre-commit


def tool_env(**extra: str) -> dict[str, str]:
    """The environment a developer's shell or a CI job has: this venv's scripts first."""
    env = {**os.environ, **GIT_ENV, **extra}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.pop("DJANGO_SETTINGS_MODULE", None)  # the project's [tool.schemaops] says it
    return env


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, env=tool_env(), capture_output=True, text=True, check=True
    )
    return result.stdout


def make_repo(dest: Path) -> Path:
    """Copy the demo shop into ``dest`` and commit it on branch ``main``."""
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(dest, "init", "-q", "-b", "main")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "the demo shop")
    return dest


def latest_migration(repo: Path, app: str) -> str:
    names = [p.stem for p in (repo / app / "migrations").glob("[0-9][0-9][0-9][0-9]_*.py")]
    return max(names)


def add_migration(repo: Path, app: str, slug: str, operations: str) -> str:
    """Write the next migration of ``app``; return its path relative to ``repo``."""
    previous = latest_migration(repo, app)
    number = int(re.match(r"\d+", previous).group()) + 1  # type: ignore[union-attr]
    relative = f"{app}/migrations/{number:04d}_{slug}.py"
    (repo / relative).write_text(
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [({app!r}, {previous!r})]\n"
        f"    operations = [\n        {operations},\n    ]\n",
        encoding="utf-8",
    )
    return relative


# A migration every rule accepts, and one the gate refuses (SO101 drop-column).
SAFE_OPERATION = 'migrations.AddField("order", "gift_message", models.TextField(null=True))'
UNSAFE_OPERATION = 'migrations.RemoveField("order", "note")'
