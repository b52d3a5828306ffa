"""``schemaops fix --verify``: prove the written files with ``check`` and ``trace``.

The files were just written, so they are checked in fresh processes (this
one has the old migration modules imported): ``schemaops check`` must report
no error on them, and ``schemaops trace`` must apply them on a scratch
database seeded with rows, with no statement holding a lock that blocks
reads or writes for longer than the lock budget.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import click

from schemaops.locks import Lock

if TYPE_CHECKING:
    from schemaops.config import ProjectOptions
    from schemaops.remedy.command import FixPlan

LOCK_BUDGET_MS = 250.0
SEED_ROWS = 2000


def project_args(project: ProjectOptions) -> list[str]:
    """The command-line options that name the same project again."""
    args = []
    for flag, value in (
        ("--settings", project.settings),
        ("--pythonpath", project.pythonpath),
        ("--database", project.database),
        ("--config", project.config_path),
    ):
        if value:
            args += [flag, value]
    return args


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "schemaops", *args], capture_output=True, text=True, check=False
    )


def _child_error(proc: subprocess.CompletedProcess[str]) -> str:
    """What a schemaops child process said when it failed, without its own
    ``schemaops: error:`` prefix (the line it goes into has a prefix of its own)."""
    return (proc.stderr or proc.stdout).strip().removeprefix("schemaops: error: ")


def blocking_holds(trace: dict[str, Any], budget_ms: float = LOCK_BUDGET_MS) -> list[str]:
    """Statements that held a lock blocking reads or writes on an existing table past the budget.

    In a transaction a lock is held until the commit, so a statement's hold is
    its own duration plus that of every later statement of the migration.
    """
    problems = []
    for migration in trace.get("migrations", []):
        statements = migration.get("statements", [])
        for i, stmt in enumerate(statements):
            held = stmt["duration_ms"]
            if stmt.get("in_transaction", True) and migration.get("atomic", True):
                held = sum(s["duration_ms"] for s in statements[i:])
            for lock in stmt.get("locks", []):
                mode = Lock.from_mode(lock["mode"])
                if not lock.get("preexisting") or mode is None or lock["kind"] != "table":
                    continue
                if mode.blocks_writes and held > budget_ms:
                    problems.append(
                        f"{migration['app']}.{migration['migration']}: {mode.value} on "
                        f"{lock['relation']} for {held:.0f} ms: {stmt['sql'][:80]}"
                    )
    return problems


def verify_written(project: ProjectOptions, plan: FixPlan) -> int:
    """Run (a) check and (b, c) trace on the written migrations; 0 when both hold."""
    apps = sorted({key[0] for key in plan.files})
    failures = []
    for app in apps:
        checked = _run("check", app, *project_args(project), "--format", "json")
        if checked.returncode not in (0, 1):
            failures.append(f"check {app}: {_child_error(checked)}")
            continue
        report = json.loads(checked.stdout)
        for e in report["findings"]:
            if e["severity"] == "error":
                failures.append(f"check: {e['code']} {e['app']}.{e['migration']}: {e['message']}")
        traced = _run(
            "trace", app, *project_args(project), "--rows", str(SEED_ROWS), "--format", "json", "-q"
        )
        if traced.returncode != 0:
            failures.append(f"trace {app}: {_child_error(traced)[:300]}")
            continue
        failures += ["trace: " + p for p in blocking_holds(json.loads(traced.stdout))]
    for line in failures:
        click.echo(f"schemaops fix --verify: {line}", err=True)
    if not failures:
        click.echo(
            f"schemaops fix --verify: check clean, applied on a scratch database with "
            f"{SEED_ROWS} rows per table, no lock blocking writes held over {LOCK_BUDGET_MS:.0f} ms"
        )
    return 1 if failures else 0
