"""The body of ``schemaops fix``: plan remedies for unapplied migrations and write them.

:mod:`schemaops.cli.fix` only turns the command line into a :class:`FixOptions`.
Applied migrations (as the database records them) and squashed migrations
are never rewritten.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from schemaops.config import ProjectOptions, project_config
from schemaops.errors import ConfigError
from schemaops.project import setup_django
from schemaops.remedy.project import MigrationKey, leaf_of, plan_project
from schemaops.remedy.writer import PlannedFile, layout
from schemaops.selection import Selection, applied_migrations, load_graph

if TYPE_CHECKING:
    from django.db.migrations.loader import MigrationLoader


@dataclass(frozen=True)
class FixOptions:
    """Everything ``schemaops fix`` takes; empty and None mean "not given"."""

    project: ProjectOptions = field(default_factory=ProjectOptions)
    app_label: str | None = None
    migration_name: str | None = None
    since: str | None = None
    dry_run: bool = False
    verify: bool = False
    pg_version: int | None = None


@dataclass
class FixPlan:
    """The files to write, per migration replaced, in graph order."""

    files: dict[MigrationKey, list[PlannedFile]] = field(default_factory=dict)
    folders: dict[MigrationKey, Path] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return sum(len(files) for files in self.files.values())


def run_fix(options: FixOptions) -> int:
    """Plan, then print the diff (``dry_run``) or write the files; 0 when done."""
    cfg = project_config(options.project, pg_version=options.pg_version)
    setup_django(cfg)
    if options.migration_name and not options.app_label:
        raise ConfigError("give an app label before the migration name")
    applied = applied_migrations(cfg.database)
    loader = load_graph()
    target = None
    if options.app_label and options.migration_name:
        target = (options.app_label, options.migration_name)
    selection = Selection(
        apps=(options.app_label,) if options.app_label else cfg.apps,
        exclude_apps=cfg.exclude_apps,
        since=options.since,
        unapplied_only=True,
        target=target,
        applied=applied,
    )
    keys = _rewritable(loader, selection.resolve(loader), applied)
    plan = build_fix_plan(loader, keys, (cfg.pg_version or 15) * 10000)
    if not plan.files:
        click.echo("schemaops fix: nothing to fix", err=True)
        return 0
    if options.dry_run:
        click.echo(diff(plan))
        return 0
    write(plan)
    click.echo(f"schemaops fix: wrote {plan.written} file(s) for {len(plan.files)} migration(s)")
    if options.verify:
        from schemaops.remedy.verify import verify_written

        return verify_written(options.project, plan)
    return 0


def _rewritable(
    loader: MigrationLoader, keys: set[MigrationKey], applied: set[MigrationKey]
) -> set[MigrationKey]:
    """Drop applied and squashed migrations, and migrations a squash replaces."""
    out = set()
    for key in keys:
        migration = loader.graph.nodes[key]
        if key in applied or getattr(migration, "replaces", None):
            continue
        out.add(key)
    return out


def build_fix_plan(loader: MigrationLoader, keys: set[MigrationKey], pg_version: int) -> FixPlan:
    """The files replacing each migration of ``keys`` that has something to remedy."""
    from schemaops.plan import Walker

    remedies = plan_project(loader, dict.fromkeys(keys), pg_version)
    plan = FixPlan()
    leaves: dict[str, str | None] = {}
    for key in Walker(loader).full_plan():
        if not any(r.steps for r in remedies.get(key, {}).values()):
            continue  # nothing planned, or advice only
        app = key[0]
        leaf = leaves.get(app) or leaf_of(loader, app) or key[1]
        migration = loader.graph.nodes[key]
        files = layout(app, migration, remedies[key], leaf=leaf, post_phase=_is_post(migration))
        plan.files[key] = files
        plan.folders[key] = _folder_of(migration)
        post = [f.name for f in files if f.name.startswith(f"{key[1]}_post")]
        if post:
            leaves[app] = post[-1]
    return plan


def _is_post(migration: object) -> bool:
    from schemaops.phases import POST, phase_of

    return phase_of(migration) == POST


def _folder_of(migration: object) -> Path:
    module = sys.modules[type(migration).__module__]
    return Path(str(module.__file__)).parent


def diff(plan: FixPlan) -> str:
    """A unified diff of every file the plan writes (new files against /dev/null)."""
    chunks: list[str] = []
    for key, files in plan.files.items():
        folder = plan.folders[key]
        for f in files:
            path = folder / f"{f.name}.py"
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            chunks.extend(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    f.code.splitlines(keepends=True),
                    fromfile=str(path) if old else "/dev/null",
                    tofile=str(path),
                )
            )
    return "".join(chunks).rstrip("\n")


def write(plan: FixPlan) -> None:
    for key, files in plan.files.items():
        folder = plan.folders[key]
        for f in files:
            (folder / f"{f.name}.py").write_text(f.code, encoding="utf-8")
