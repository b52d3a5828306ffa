"""Remedies as migration files, written by Django's own MigrationWriter and serializer.

:func:`layout` turns one migration and the remedies of some of its operations
into the files that replace it. The last pre-deploy file keeps the original
name, so migrations that depend on it stay valid; the ones before it are
``<name>_<n>_<role>``; post-deploy files (``<name>_post``) come after the
app's leaf migration, so the app keeps a single leaf.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemaops.remedy.planner import MigrationSpec, Remedy

INLINE_LIMIT = 60  # lines of code shown in a report; longer plans are left to `schemaops fix`
_CLASS_LINE = "class Migration(migrations.Migration):\n"


@dataclass
class PlannedFile:
    """One migration module to write: its name (no ``.py``), code and phase."""

    name: str
    code: str
    post: bool = False
    atomic: bool = True


def dependency(dep: Any) -> tuple[str, str]:
    """A dependency as MigrationWriter writes it: the swappable ones stay swappable.

    A loaded migration's ``swappable_dependency(settings.AUTH_USER_MODEL)`` keeps
    only the setting's value (``"auth.User"``); the setting's name is found again
    among the swappable models' settings.
    """
    value = getattr(dep, "setting", None)
    name = _swappable_setting(value) if value else None
    return ("__setting__", name) if name else (dep[0], dep[1])


def _swappable_setting(value: str) -> str | None:
    from django.apps import apps
    from django.conf import settings

    for model in apps.get_models(include_swapped=True):
        name = model._meta.swappable
        if name and getattr(settings, name, None) == value:
            return str(name)
    return None


def migration_module(
    app_label: str,
    name: str,
    spec_operations: list[Any],
    dependencies: list[Any],
    *,
    atomic: bool = True,
    post: bool = False,
    initial: bool = False,
) -> str:
    """A complete migration module, from Django's writer (imports, swappable dependencies)."""
    from django.db import migrations
    from django.db.migrations.writer import MigrationWriter

    attrs = {
        "operations": list(spec_operations),
        "dependencies": [dependency(d) for d in dependencies],
        "initial": initial,
    }
    migration = type("Migration", (migrations.Migration,), attrs)(name, app_label)
    code = MigrationWriter(migration, include_header=False).as_string()
    extra = ""
    if not atomic:
        extra += "    atomic = False  # CONCURRENTLY cannot run inside a transaction\n"
    if post:
        extra += '    deploy_phase = "post"  # contract: apply after the new code is live\n'
    if extra:
        code = code.replace(_CLASS_LINE, _CLASS_LINE + extra, 1)
    return code


def layout(
    app_label: str,
    migration: Any,
    remedies: dict[int, Remedy],
    *,
    leaf: str,
    post_phase: bool = False,
) -> list[PlannedFile]:
    """The files replacing ``migration`` when the operations in ``remedies`` are remedied.

    Safe operations stay in order between the remedies' migrations. ``leaf``
    is the app's latest migration (post-deploy files depend on it).
    """
    segments: list[tuple[str, list[Any], bool, bool]] = []  # role, ops, atomic, post
    keep: list[Any] = []
    atomic = bool(getattr(migration, "atomic", True))
    post_files: list[MigrationSpec] = []
    for index, op in enumerate(migration.operations):
        remedy = remedies.get(index)
        if remedy is None or remedy.by_hand:
            keep.append(op)
            continue
        if keep:
            segments.append(("keep", keep, atomic, post_phase))
            keep = []
        for spec in remedy.pre:
            segments.append((spec.role, spec.operations, spec.atomic, post_phase))
        post_files.extend(remedy.post)
    if keep or not segments:
        segments.append(("keep", keep, atomic, post_phase))
    return _named(app_label, migration, segments, post_files, leaf)


def _named(
    app_label: str,
    migration: Any,
    segments: list[tuple[str, list[Any], bool, bool]],
    post_files: list[MigrationSpec],
    leaf: str,
) -> list[PlannedFile]:
    name = migration.name
    files: list[PlannedFile] = []
    deps: list[Any] = list(migration.dependencies)
    for n, (role, ops, atomic, post) in enumerate(segments, start=1):
        last = n == len(segments)
        file_name = name if last else f"{name}_{n}_{role}"
        code = migration_module(
            app_label,
            file_name,
            ops,
            deps,
            atomic=atomic,
            post=post,
            initial=bool(getattr(migration, "initial", False)) and n == 1,
        )
        files.append(PlannedFile(file_name, code, post, atomic))
        deps = [(app_label, file_name)]
    after = leaf
    for n, spec in enumerate(post_files, start=1):
        file_name = f"{name}_post" if n == 1 else f"{name}_post_{n}"
        deps = sorted({(app_label, name), (app_label, after)})
        code = migration_module(
            app_label, file_name, spec.operations, deps, atomic=spec.atomic, post=True
        )
        files.append(PlannedFile(file_name, code, True, spec.atomic))
        after = file_name
    return files


def remedy_text(remedy: Remedy, files: list[PlannedFile], fix_command: str) -> str:
    """What a report shows as an operation's remedy: the plan, and its files when short."""
    lines = [f"# {remedy.summary}"]
    if remedy.by_hand:
        return "\n".join([*lines, f"# `{fix_command}` writes nothing for it"])
    if remedy.backfill:
        lines.append(f"# {remedy.backfill}")
    lines.append(f"# `{fix_command}` writes: " + ", ".join(f"{f.name}.py" for f in files))
    body = []
    for f in files:
        phase = "after the deploy" if f.post else "before the deploy"
        body.append(f"# --- {f.name}.py ({phase})")
        body.extend(f.code.rstrip().splitlines())
    if len(body) <= INLINE_LIMIT:
        lines.extend(body)
    else:
        lines.append(f"# ({len(body)} lines: too long to show here; run `{fix_command} --dry-run`)")
    return "\n".join(lines)
