"""The body of ``schemaops fix``: plan remedies for unapplied migrations and write them.

:mod:`schemaops.cli.fix` only turns the command line into a :class:`FixOptions`.
Applied migrations (as the database records them) and squashed migrations
are never rewritten.

Without a reachable database, fix still works on what is clearly unapplied: a
migration named on the command line (APP MIGRATION), or the migration files
*added* since ``--since REF`` (a file only edited since then may be applied
already, so it is left alone). One line on stderr says what was assumed.
Anything else needs the database, and says so in one line (exit 2).
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click

from schemaops.config import ProjectOptions, project_config
from schemaops.defaults import LOCK_TIMEOUT
from schemaops.errors import ConfigError, DatabaseUnavailable
from schemaops.project import setup_django
from schemaops.remedy.fill import BACKFILL_FILE, as_fix_reports, with_backfill_classes
from schemaops.remedy.project import MigrationKey, leaves_of, plan_project
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
    quiet: bool = False  # -q: no "nothing to fix" note (what it assumed offline still shows)


@dataclass
class FixPlan:
    """The files to write, per migration replaced, in graph order."""

    files: dict[MigrationKey, list[PlannedFile]] = field(default_factory=dict)
    folders: dict[MigrationKey, Path] = field(default_factory=dict)
    # <app>/backfills.py -> (class name, code) of the Backfill classes the remedies need
    backfills: dict[Path, list[tuple[str, str]]] = field(default_factory=dict)
    # what to run between `migrate --phase pre` and `--phase post` (the remedies' backfills)
    between_phases: list[str] = field(default_factory=list)
    # what the user must change besides the files (models.py), one line each
    notes: list[str] = field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(len(files) for files in self.files.values())


def run_fix(options: FixOptions) -> int:
    """Plan, then print the diff (``dry_run``) or write the files; 0 when done."""
    cfg = project_config(options.project, pg_version=options.pg_version)
    setup_django(cfg)
    if options.migration_name and not options.app_label:
        raise ConfigError("give an app label before the migration name")
    unreachable: DatabaseUnavailable | None = None
    try:
        applied = applied_migrations(cfg.database)
    except DatabaseUnavailable as exc:
        applied, unreachable = set(), exc
    loader = load_graph()
    target = None
    if options.app_label and options.migration_name:
        target = (options.app_label, options.migration_name)
    selection = Selection(
        apps=(options.app_label,) if options.app_label else cfg.apps,
        exclude_apps=cfg.exclude_apps,
        since=options.since,
        unapplied_only=unreachable is None,
        target=target,
        applied=applied,
    )
    selected = selection.resolve(loader)
    if unreachable is not None:
        selected = _clearly_unapplied(loader, selected, options, unreachable)
    keys = _rewritable(loader, selected, applied)
    plan = build_fix_plan(loader, keys, (cfg.pg_version or 15) * 10000, cfg.lock_timeout)
    if not plan.files:
        if not options.quiet:
            click.echo("schemaops fix: nothing to fix", err=True)
        return 0
    if options.dry_run:
        click.echo(diff(plan))
        return 0
    write(plan)
    click.echo(f"schemaops fix: wrote {plan.written} file(s) for {len(plan.files)} migration(s)")
    for backfill in plan.between_phases:
        click.echo(f"schemaops fix: {as_fix_reports(backfill)}")
    for note in plan.notes:
        click.echo(f"schemaops fix: also: {note}")
    if options.verify:
        from schemaops.remedy.verify import verify_written

        return verify_written(options.project, plan)
    return 0


def _clearly_unapplied(
    loader: MigrationLoader,
    selected: set[MigrationKey],
    options: FixOptions,
    unreachable: DatabaseUnavailable,
) -> set[MigrationKey]:
    """Without the database: the named migration, or the files added since --since REF;
    says in one line what it assumed. Anything else is exit 2 with what to give instead."""
    from schemaops.redaction import redact

    if options.migration_name:
        why = "named on the command line"
    elif options.since:
        new = _added_since(options.since)
        selected = {k for k in selected if _path_of(loader, k) in new}
        why = f"added since {options.since}"
    else:
        raise DatabaseUnavailable(
            f"{unreachable}; without the database, name the migration (schemaops fix APP "
            "MIGRATION) or give --since REF to fix the migration files added since a git ref"
        )
    labels = ", ".join(f"{app}.{name}" for app, name in sorted(selected)) or "none"
    click.echo(
        redact(
            f"schemaops fix: the database is unreachable, so what it applied is unknown; "
            f"assumed unapplied ({why}): {labels}"
        ),
        err=True,
    )
    return selected


def _added_since(since: str) -> set[str]:
    """Absolute paths of files that did not exist at ``since``: added, renamed in or untracked.

    :func:`schemaops.selection.changed_files` also has the files only edited since then,
    which may well be applied already; those present in ``since``'s tree are left out.
    """
    from schemaops.selection import changed_files

    changed = changed_files(since)
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        tree = subprocess.run(
            ["git", "ls-tree", "-r", "--full-tree", "--name-only", since],
            cwd=top,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError) as exc:  # changed_files said it first
        raise ConfigError(f"--since {since}: cannot list its files ({exc})") from None
    existed = {os.path.realpath(os.path.join(top, name)) for name in tree}
    return changed - existed


def _path_of(loader: MigrationLoader, key: MigrationKey) -> str | None:
    module = sys.modules.get(type(loader.graph.nodes[key]).__module__)
    path = getattr(module, "__file__", None)
    return os.path.realpath(path) if path else None


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


def build_fix_plan(
    loader: MigrationLoader,
    keys: set[MigrationKey],
    pg_version: int,
    lock_timeout: str = LOCK_TIMEOUT,
) -> FixPlan:
    """The files replacing each migration of ``keys`` that has something to remedy; each
    file sets ``lock_timeout`` itself (the project's ``lock-timeout``)."""
    from schemaops.plan import Walker

    remedies = plan_project(loader, dict.fromkeys(keys), pg_version)
    plan = FixPlan()
    leaves = leaves_of(loader)
    for key in Walker(loader).full_plan():
        if all(r.advice for r in remedies.get(key, {}).values()):
            continue  # nothing planned, or advice only
        app = key[0]
        leaf = leaves.get(app) or key[1]
        migration = loader.graph.nodes[key]
        files = layout(
            app,
            migration,
            remedies[key],
            leaf=leaf,
            post_phase=_is_post(migration),
            lock_timeout=lock_timeout,
        )
        uncopied = sorted({name for f in files for name in f.uncopied})
        if uncopied:  # the files would not import: leave the migration as it is
            plan.notes.append(
                f"{app}.{key[1]} is left as it is: the files written in its place would not "
                f"import ({'; '.join(uncopied)})"
            )
            continue
        plan.files[key] = files
        plan.folders[key] = _folder_of(migration)
        for remedy in remedies[key].values():
            if remedy.backfill_class is not None:
                target = plan.folders[key].parent / BACKFILL_FILE
                plan.backfills.setdefault(target, []).append(remedy.backfill_class)
            if remedy.backfill and not remedy.advice:
                plan.between_phases.append(remedy.backfill)
        plan.notes += [n for i in sorted(remedies[key]) for n in remedies[key][i].instructions[:1]]
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
    for path, classes in plan.backfills.items():
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                with_backfill_classes(old, classes).splitlines(keepends=True),
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
    for path, classes in plan.backfills.items():
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        path.write_text(with_backfill_classes(old, classes), encoding="utf-8")
