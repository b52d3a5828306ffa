"""Lint in-memory migrations (see lintkit) and give the findings the planner's remedy.

Rules say what is wrong; the remedy planner (``schemaops.remedy``) says what to
do instead, once per operation. ``check`` attaches it with
``attach_remedies``; rule tests that assert on the remedy do the same here.
"""

from __future__ import annotations

from typing import Any

from lintkit import APP, QUIET, FakeLoader, make_migration

from schemaops.config import Config
from schemaops.findings import Finding
from schemaops.linter import Linter
from schemaops.remedy.attach import attach_remedies


def lint_remedy(
    operations: list[Any],
    setup: list[Any] | None = None,
    *,
    atomic: bool = True,
    pg_version: int = 15,
    config: Config | None = None,
    **attrs: Any,
) -> list[Finding]:
    """``lintkit.lint``, then ``recipe`` = the planner's remedy of each finding's operation."""
    first = make_migration("0001_initial", setup or [])
    second = make_migration(
        "0002_change", operations, atomic=atomic, dependencies=[(APP, "0001_initial")], **attrs
    )
    loader = FakeLoader([first, second])
    result = Linter(loader, config or QUIET, pg_version=pg_version).run({(APP, "0002_change")})
    findings = [f for f in result.findings if not f.suppressed]
    attach_remedies(findings, loader, pg_version * 10000)  # type: ignore[arg-type]
    return findings


def remedy_migrations(recipe: str, *, timeouts: bool = False) -> list[tuple[str, Any]]:
    """Execute every migration module a remedy's text shows; (file name, Migration class).

    ``timeouts`` False: the ``lock_timeout`` settings every written file carries
    (schemaops.remedy.timeouts, proven by tests/remedy) are taken out of the operations,
    so a test reads the remedy's own work.
    """
    modules: list[tuple[str, list[str]]] = []
    for line in recipe.splitlines():
        if line.startswith("# --- ") and ".py (" in line:
            modules.append((line.removeprefix("# --- ").split(".py", 1)[0], []))
        elif modules:
            modules[-1][1].append(line)
    out = []
    for name, lines in modules:
        namespace: dict[str, Any] = {}
        exec("\n".join(lines), namespace)  # the remedy must be valid Python
        migration = namespace["Migration"]
        out.append((name, migration if timeouts else without_timeouts(migration)))
    return out


TIMEOUT_SETTINGS = ("SET LOCAL lock_timeout = ", "SET lock_timeout = ", "RESET lock_timeout")


def without_timeouts(migration: Any) -> Any:
    """The Migration class with its operations' lock_timeout settings taken out."""
    ops = [kept for op in migration.operations if (kept := _without_timeouts(op)) is not None]
    migration.operations = ops
    return migration


def _without_timeouts(op: Any) -> Any | None:
    """``op`` without its lock_timeout settings; None when that was all it ran."""
    from django.db import migrations

    if isinstance(op, migrations.SeparateDatabaseAndState):
        inner = [kept for o in op.database_operations if (kept := _without_timeouts(o)) is not None]
        return migrations.SeparateDatabaseAndState(
            op.database_operations and inner, op.state_operations
        )
    if not isinstance(op, migrations.RunSQL):
        return op
    sql, reverse = _no_settings(op.sql), _no_settings(op.reverse_sql)
    if (sql, reverse) == (op.sql, op.reverse_sql):
        return op
    if not sql and not reverse:
        return None
    return migrations.RunSQL(sql or migrations.RunSQL.noop, reverse or migrations.RunSQL.noop)


def _no_settings(sql: Any) -> Any:
    if isinstance(sql, str):
        return "" if sql.startswith(TIMEOUT_SETTINGS) else sql
    if isinstance(sql, list | tuple):
        return [s for s in sql if not (isinstance(s, str) and s.startswith(TIMEOUT_SETTINGS))]
    return sql


def remedy_sql(recipe: str) -> list[str]:
    """The SQL every RunSQL of a remedy runs forwards (database side), in order; the
    ``lock_timeout`` settings every written file carries (schemaops.remedy.timeouts) aside."""
    from models import recipe_sql

    return [sql for _name, migration in remedy_migrations(recipe) for sql in recipe_sql(migration)]


def lint_remedy_chain(recipe: str, setup: list[Any]) -> list[Finding]:
    """Lint a remedy's migrations as consecutive migrations after ``setup``; all findings."""
    return lint_chain(remedy_migrations(recipe, timeouts=True), setup)


def lint_chain(migrations: list[tuple[str, Any]], setup: list[Any]) -> list[Finding]:
    """Lint ``migrations`` ((name, Migration) pairs: their operations, ``atomic`` and
    ``deploy_phase``) as consecutive migrations after ``setup``; all their findings."""
    chain, previous = [make_migration("0001_initial", setup)], "0001_initial"
    for number, (_name, migration) in enumerate(migrations, 2):
        name = f"{number:04d}_remedy"
        phase = {"deploy_phase": getattr(migration, "deploy_phase", "pre")}
        chain.append(
            make_migration(
                name,
                list(migration.operations),
                dependencies=[(APP, previous)],
                atomic=migration.atomic,
                **phase,
            )
        )
        previous = name
    linter = Linter(FakeLoader(chain), Config())
    return linter.run({(APP, m.name) for m in chain[1:]}).findings


def remedies_of(
    operations: list[Any], setup: list[Any] | None = None, *, atomic: bool = True
) -> dict[int, Any]:
    """The planner's remedies of migration 0002's operations, by index (whole plans, also
    those too long for a report to show)."""
    from schemaops.remedy.project import plan_project

    first = make_migration("0001_initial", setup or [])
    second = make_migration(
        "0002_change", operations, atomic=atomic, dependencies=[(APP, "0001_initial")]
    )
    plans = plan_project(FakeLoader([first, second]), {(APP, "0002_change"): None})  # type: ignore[arg-type]
    return plans.get((APP, "0002_change"), {})


def spec_sql(spec: Any) -> list[str]:
    """The SQL a remedy's migration runs forwards (RunSQL, also inside SeparateDatabaseAndState)."""
    out: list[str] = []
    for op in spec.operations:
        for sub in getattr(op, "database_operations", None) or [op]:
            sql = getattr(sub, "sql", None)
            out.extend([sql] if isinstance(sql, str) else list(sql or []))
    return out
