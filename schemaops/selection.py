"""Which migrations a command looks at: load the graph once, then select.

Selection is shared by ``check``, ``trace`` and ``migrate``:

* by default, every migration of the project's own apps (not Django's, not
  third-party apps installed in site-packages);
* ``--app LABEL`` (repeatable) narrows to those apps;
* ``--since GITREF`` keeps migration files added *or edited* since GITREF,
  including uncommitted and untracked ones;
* ``--unapplied`` keeps the ones the database has not recorded;
* ``APP MIGRATION`` names exactly one (a unique prefix of the name is enough).
"""

from __future__ import annotations

import os
import site
import subprocess
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from schemaops._gc import freeze_loaded, gc_paused
from schemaops.errors import ConfigError, DatabaseUnavailable, GraphError, UnknownAppError

MigrationKey = tuple[str, str]


def load_graph(connection: Any = None) -> Any:
    """Build Django's MigrationLoader; offline unless a connection is given.

    Every way a migration tree can be broken (a file that does not import, a
    missing or circular dependency, a migration that replaces itself,
    conflicting leaves) is a :class:`GraphError`: one line naming the
    migration and what is wrong.
    """
    from django.db.migrations.loader import MigrationLoader

    from schemaops import _gc, _precompile, source

    # in the console script: another process compiles part of the files meanwhile
    helper = _precompile.start(_gc.FREEZE_AT_EXIT)
    try:
        with gc_paused():
            loader = MigrationLoader(connection, load=False, ignore_no_migrations=True)
            try:
                with source.compiled_while_importing(helper) as compiled:
                    loader.load_disk()
            finally:
                if helper is not None:
                    helper.close()
            source.keep_compiled(compiled, _module_files(loader.disk_migrations))
            _refuse_self_replacement(loader.disk_migrations)
            # build_graph() starts with load_disk(), which would import (reload) every
            # migration file a second time: the files were just loaded, keep them
            loader.load_disk = _loaded  # type: ignore[method-assign]
            try:
                loader.build_graph()
            finally:
                del loader.load_disk
    except GraphError:
        raise
    except Exception as exc:  # a migration module can raise anything while importing
        raise GraphError(f"broken migration graph: {_graph_problem(exc)}") from None
    conflicts = loader.detect_conflicts()
    if conflicts:
        detail = "; ".join(f"{app}: {', '.join(sorted(names))}" for app, names in conflicts.items())
        raise GraphError(f"conflicting migrations (run makemigrations --merge): {detail}")
    freeze_loaded()
    return loader


def _module_files(disk_migrations: dict[MigrationKey, Any]) -> set[str]:
    """The files the migrations were imported from."""
    import sys

    modules = (sys.modules.get(type(m).__module__) for m in disk_migrations.values())
    return {path for path in (getattr(m, "__file__", None) for m in modules) if path}


def _loaded() -> None:
    """Stands in for ``MigrationLoader.load_disk`` once the files are loaded."""


def _refuse_self_replacement(disk_migrations: dict[MigrationKey, Any]) -> None:
    """A migration whose ``replaces`` names itself breaks Django's graph in odd ways.

    Checked on the files as loaded from disk, before the graph is built from them.
    """
    for key, migration in disk_migrations.items():
        if key in {tuple(r) for r in (migration.replaces or ())}:
            raise GraphError(f"broken migration graph: {key[0]}.{key[1]} lists itself in replaces")


def _graph_problem(exc: BaseException) -> str:
    """One line: which migration and what is wrong with it."""
    from django.db.migrations.exceptions import CircularDependencyError, NodeNotFoundError

    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, CircularDependencyError):
        return f"circular dependency between {first}"
    if isinstance(exc, NodeNotFoundError):
        return first
    path = _failing_migration_file(exc)
    if path is None:
        return first
    return f"{path} does not import: {type(exc).__name__}: {first}"


def _failing_migration_file(exc: BaseException) -> str | None:
    """The migration file that raised ``exc`` while being imported, relative when possible."""
    import traceback

    if isinstance(exc, SyntaxError) and exc.filename:
        return relative(exc.filename)
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        folder = os.path.basename(os.path.dirname(frame.filename))
        if folder == "migrations" and not frame.filename.startswith(_django_root()):
            return relative(frame.filename)
    return None


def _django_root() -> str:
    import django

    return os.path.dirname(django.__file__)


def django_connection(alias: str) -> Any:
    """Django's connection for ``alias``; an alias not in DATABASES is a ConfigError."""
    from django.db import connections

    if alias not in connections:
        known = ", ".join(sorted(connections.settings)) or "none"
        raise ConfigError(f"unknown database alias {alias!r} (DATABASES has: {known})")
    return connections[alias]


def applied_migrations(alias: str) -> set[MigrationKey]:
    from django.db import DatabaseError
    from django.db.migrations.recorder import MigrationRecorder

    connection = django_connection(alias)
    try:
        return set(MigrationRecorder(connection).applied_migrations())
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or ["unreachable"])[0]
        raise DatabaseUnavailable(
            f"cannot read applied migrations from {alias!r}: {first}"
        ) from None


def server_pg_version(alias: str) -> int:
    from django.db import DatabaseError

    conn = django_connection(alias)
    if conn.vendor != "postgresql":
        raise ConfigError(f"database {alias!r} is {conn.vendor}, not PostgreSQL")
    try:
        return int(conn.pg_version)  # type: ignore[attr-defined]  # PostgreSQL wrapper only
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or ["unreachable"])[0]
        raise DatabaseUnavailable(f"cannot reach database {alias!r}: {first}") from None


def _library_roots() -> list[str]:
    roots = set(site.getsitepackages()) | {site.getusersitepackages()}
    for key in ("purelib", "platlib", "stdlib"):
        roots.add(sysconfig.get_paths()[key])
    import django

    roots.add(os.path.dirname(django.__file__))
    return [os.path.realpath(r) + os.sep for r in roots if r]


def project_apps() -> list[str]:
    """Labels of the apps whose code lives outside site-packages and Django."""
    from django.apps import apps

    roots = _library_roots()
    labels = []
    for config in apps.get_app_configs():
        if config.name == "schemaops" or config.name.startswith("schemaops."):
            continue  # our own apps are a library to the user, even in an editable install
        path = os.path.realpath(config.path) + os.sep
        if not any(path.startswith(root) for root in roots):
            labels.append(config.label)
    return labels


def changed_files(since: str, cwd: str | None = None) -> set[str]:
    """Absolute paths of files added or modified since ``since`` (plus untracked)."""

    def git(*args: str, where: str | None = cwd) -> str:
        try:
            result = subprocess.run(
                ["git", *args], cwd=where, capture_output=True, text=True, check=True
            )
        except FileNotFoundError:
            raise ConfigError("--since needs git, which is not installed") from None
        except subprocess.CalledProcessError as exc:
            first = (exc.stderr.strip().splitlines() or ["git failed"])[0]
            raise ConfigError(f"--since {since}: {first}") from None
        return result.stdout

    # From the top of the repository, whatever folder the command runs in: from a
    # subfolder, ls-files would list only that folder's untracked files, relative to it.
    top = git("rev-parse", "--show-toplevel").strip()
    diff = ("diff", "--no-relative", "--name-only", "--diff-filter=AMR", since, "--")
    names = git(*diff, where=top).splitlines()
    names += git("ls-files", "--others", "--exclude-standard", where=top).splitlines()
    return {os.path.realpath(os.path.join(top, n)) for n in names if n.endswith(".py")}


@dataclass
class Selection:
    apps: tuple[str, ...] = ()
    exclude_apps: tuple[str, ...] = ()
    since: str | None = None
    unapplied_only: bool = False
    target: MigrationKey | None = None  # APP MIGRATION
    applied: set[MigrationKey] = field(default_factory=set)

    def resolve(self, loader: Any) -> set[MigrationKey]:
        """The set of migration keys selected; raises UnknownAppError for bad names."""
        from django.apps import apps as django_apps

        known = {c.label for c in django_apps.get_app_configs()}
        for label in (*self.apps, *self.exclude_apps):
            if label not in known:
                raise UnknownAppError(
                    f"unknown app {label!r}; installed: {', '.join(sorted(known))}"
                )
        graph_keys: Iterable[MigrationKey] = loader.graph.nodes
        if self.target:
            return {self._find_target(loader)}
        labels = set(self.apps) if self.apps else set(project_apps())
        labels -= set(self.exclude_apps)
        keys = {k for k in graph_keys if k[0] in labels}
        if self.unapplied_only:
            keys = {k for k in keys if k not in self.applied}
        if self.since is not None:
            changed = changed_files(self.since)
            keys = {k for k in keys if _path_of(loader, k) in changed}
        return keys

    def _find_target(self, loader: Any) -> MigrationKey:
        assert self.target is not None
        app, name = self.target
        if app not in loader.migrated_apps:
            raise UnknownAppError(f"app {app!r} has no migrations")
        matches = [k for k in loader.graph.nodes if k[0] == app and k[1].startswith(name)]
        exact = [k for k in matches if k[1] == name]
        if exact:
            return exact[0]
        if len(matches) != 1:
            what = "is ambiguous" if matches else "does not exist"
            raise UnknownAppError(f"migration {app}.{name} {what}")
        return matches[0]


def _path_of(loader: Any, key: MigrationKey) -> str | None:
    import sys

    module = sys.modules.get(type(loader.graph.nodes[key]).__module__)
    path = getattr(module, "__file__", None)
    return os.path.realpath(path) if path else None


def relative(path: str | None, root: Path | None = None) -> str | None:
    """Paths in reports are relative to the working directory when possible."""
    if not path:
        return None
    try:
        return os.path.relpath(path, root or Path.cwd())
    except ValueError:
        return path


def relative_file(path: str, root: Path) -> str | None:
    """:func:`relative` for a file (a migration module), with one ``relpath`` per folder:
    a report names many files of the same folder. (Not for a folder: ``root`` may be
    inside it, which the folder above it does not see.)"""
    folder, name = os.path.split(path)
    if not os.path.isabs(folder) or name in ("", ".", ".."):
        return relative(path, root)
    shown = _relative_folder(folder, str(root))
    if shown is None:
        return path
    return name if shown == "." else os.path.join(shown, name)


@lru_cache(maxsize=1024)
def _relative_folder(folder: str, root: str) -> str | None:
    """``os.path.relpath(folder, root)`` for an absolute folder (which the working
    directory does not change); None where there is none (another drive)."""
    try:
        return os.path.relpath(folder, root)
    except ValueError:
        return None
