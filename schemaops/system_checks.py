"""Opt-in Django system checks: ``manage.py check --database`` and ``migrate`` as a gate.

Turned on in the project's settings (``"schemaops"`` must be in ``INSTALLED_APPS``)::

    SCHEMAOPS_SYSTEM_CHECKS = True

Messages (ids are never reused):

``schemaops.E001``  an error finding of ``schemaops check`` in a migration that the
                    database has not applied yet. The check is tagged ``database``, so
                    Django runs it only when a database is named: ``manage.py check
                    --database default``, and ``manage.py migrate``, which checks its
                    target database first and so refuses to apply the migration
                    (``--skip-checks`` overrides). Plain ``manage.py check`` and
                    ``runserver`` cannot know what is applied and stay quiet about
                    migrations: ``schemaops check`` and the pre-commit hook cover them.
``schemaops.W002``  the database cannot be read, so pending migrations were not checked.
``schemaops.E002``  ``[tool.schemaops]`` or the migration graph cannot be loaded.
``schemaops.E003``  a ``Backfill`` subclass exists while ``schemaops.backfill`` is not
                    in ``INSTALLED_APPS`` (its ledger tables would not exist).
``schemaops.W003``  the database schemaops reads is not PostgreSQL.

The findings are the ones ``schemaops check`` gives with the project's
``[tool.schemaops]`` (nearest pyproject.toml from the working directory):
the same rules, suppressions and baseline.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from django.core import checks

from schemaops.errors import SchemaopsError
from schemaops.findings import Finding, Severity

TAG = "schemaops"
SETTING = "SCHEMAOPS_SYSTEM_CHECKS"


def enabled() -> bool:
    from django.conf import settings

    return bool(getattr(settings, SETTING, False))


def register() -> None:
    """Register both checks (idempotent: Django's registry is a set)."""
    checks.register(check_pending_migrations, TAG, checks.Tags.database)
    checks.register(check_configuration, TAG)


# -- migrations ---------------------------------------------------------------------


def check_pending_migrations(
    app_configs: Sequence[Any] | None = None, databases: Sequence[str] | None = None, **_: Any
) -> list[checks.CheckMessage]:
    """Error findings (E001) of the migrations each named database has not applied."""
    from schemaops import config as config_module

    if not databases:
        return []  # Django runs database checks only for named databases
    try:
        cfg = config_module.load()
    except SchemaopsError as exc:
        return [checks.Error(f"schemaops: {exc}", id="schemaops.E002")]
    messages: list[checks.CheckMessage] = []
    for alias in databases:
        applied, pg_version, problem = _read_database(alias, cfg.pg_version)
        if problem is not None or applied is None:
            messages.extend([problem] if problem else [])
            continue
        try:
            findings = _lint(cfg, applied, pg_version or 15)
        except SchemaopsError as exc:
            return [*messages, checks.Error(f"schemaops: {exc}", id="schemaops.E002")]
        messages.extend(_error(f, alias) for f in findings)
    return messages


def _read_database(
    alias: str, pg_version: int | None
) -> tuple[set[tuple[str, str]] | None, int | None, checks.CheckMessage | None]:
    from schemaops.selection import applied_migrations, server_pg_version

    try:
        applied = applied_migrations(alias)
        version = pg_version or server_pg_version(alias) // 10000
    except SchemaopsError as exc:
        warning = checks.Warning(
            f"schemaops: {exc}",
            hint="Pending migrations were not checked: run `schemaops check` instead.",
            id="schemaops.W002",
        )
        return None, pg_version, warning
    return applied, version, None


def _lint(cfg: Any, applied: set[tuple[str, str]], pg_version: int) -> list[Finding]:
    from schemaops.linter import Linter
    from schemaops.selection import Selection, load_graph

    loader = load_graph()
    selection = Selection(
        apps=cfg.apps, exclude_apps=cfg.exclude_apps, unapplied_only=True, applied=applied
    )
    result = Linter(loader, cfg, pg_version=pg_version, applied=applied).run(
        selection.resolve(loader)
    )
    return [f for f in result.findings if f.severity is Severity.ERROR and not f.suppressed]


def _error(f: Finding, alias: str) -> checks.CheckMessage:
    where = f"{f.app}.{f.migration}" + (
        f" operation {f.operation}" if f.operation is not None else ""
    )
    hint = f"Not applied on {alias!r}. " + (f"Lock: {f.lock}. " if f.lock else "")
    hint += f"Safe recipe: `schemaops explain {f.code}` or `schemaops check {f.app} {f.migration}`."
    return checks.Error(
        f"{f.code} {f.name}: {f.message}", hint=hint, obj=where, id="schemaops.E001"
    )


# -- configuration ------------------------------------------------------------------


def check_configuration(
    app_configs: Sequence[Any] | None = None, **_: Any
) -> list[checks.CheckMessage]:
    """Settings that make schemaops commands fail later: caught at ``manage.py check``."""
    return [*_orphan_backfills(), *_non_postgres_database()]


def _orphan_backfills() -> Iterable[checks.CheckMessage]:
    from django.apps import apps

    if apps.is_installed("schemaops.backfill"):
        return
    hint = "Add 'schemaops.backfill' to INSTALLED_APPS and run manage.py migrate."
    classes, unimportable = backfill_subclasses()
    for cls in classes:
        name = f"{cls.__module__}.{cls.__qualname__}"
        yield checks.Error(
            f"{name} is a Backfill but 'schemaops.backfill' is not in INSTALLED_APPS: "
            "its ledger tables do not exist",
            hint=hint,
            obj=name,
            id="schemaops.E003",
        )
    for module, error in unimportable:
        yield checks.Error(
            f"{module} cannot be imported while 'schemaops.backfill' is not in "
            f"INSTALLED_APPS: {error}",
            hint=hint,
            obj=module,
            id="schemaops.E003",
        )


def backfill_subclasses() -> tuple[list[type], list[tuple[str, str]]]:
    """Backfill subclasses in the apps' ``backfills`` modules (and any imported elsewhere).

    Returns the classes, and the ``backfills`` modules that failed to import
    because an app is missing from ``INSTALLED_APPS``, with the error.
    """
    from django.apps import apps

    unimportable = []
    for config in apps.get_app_configs():
        name = f"{config.name}.backfills"
        try:
            if importlib.util.find_spec(name) is not None:
                importlib.import_module(name)
        except Exception as exc:  # the user's module can raise anything
            if "INSTALLED_APPS" in str(exc):
                unimportable.append((name, str(exc).splitlines()[0]))
    base = sys.modules.get("schemaops.backfill.base")
    backfill = getattr(base, "Backfill", None)
    found: list[type] = []
    todo = list(backfill.__subclasses__()) if backfill is not None else []
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__)), unimportable


def _non_postgres_database() -> Iterable[checks.CheckMessage]:
    from django.db import connections

    from schemaops import config as config_module

    try:
        alias = config_module.load().database
    except SchemaopsError:
        return  # reported by check_migrations as schemaops.E002
    if alias in connections and connections[alias].vendor != "postgresql":
        yield checks.Warning(
            f"schemaops: database {alias!r} is {connections[alias].vendor}; schemaops "
            "reads and checks PostgreSQL",
            id="schemaops.W003",
        )
