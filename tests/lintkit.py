"""Lint in-memory migrations: a tiny graph built in the test, no files, no database.

``lint(operations, setup=[...])`` puts ``setup`` in migration 0001 of app
``shop`` (applied before) and ``operations`` in 0002 (under check), runs
every rule, and returns the findings of 0002.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.migrations.graph import MigrationGraph

from schemaops.config import Config
from schemaops.findings import Finding
from schemaops.linter import Linter

APP = "shop"
# The timeout rules fire on almost every operation of an existing table; rule tests
# leave them out unless they pass a config of their own (e.g. ``config=Config()``).
QUIET = Config(assume_timeouts=True)


def order_model(*extra_fields: Any, options: dict[str, Any] | None = None) -> Any:
    """The ``order`` model (code, legacy, amount) most rule and trace tests start from."""
    return migrations.CreateModel(
        name="Order",
        fields=[
            ("id", models.BigAutoField(primary_key=True)),
            ("code", models.CharField(max_length=20)),
            ("legacy", models.CharField(max_length=20, null=True)),
            ("amount", models.IntegerField(default=0)),
            *extra_fields,
        ],
        options=options or {},
    )


class FakeLoader:
    def __init__(self, migrations_: list[Any]) -> None:
        self.graph = MigrationGraph()
        self.unmigrated_apps: set[str] = set()
        self.applied_migrations: dict[Any, Any] = {}
        previous = None
        for mig in migrations_:
            key = (mig.app_label, mig.name)
            self.graph.add_node(key, mig)
            for dep in mig.dependencies:
                self.graph.add_dependency(mig, key, tuple(dep))
            previous = key
        self.last = previous


def make_migration(
    name: str,
    operations: list[Any],
    *,
    app: str = APP,
    dependencies: list[tuple[str, str]] | None = None,
    atomic: bool = True,
    **attrs: Any,
) -> Any:
    cls = type(
        "Migration",
        (migrations.Migration,),
        {
            "operations": operations,
            "dependencies": dependencies or [],
            "atomic": atomic,
            **attrs,
        },
    )
    return cls(name, app)


def lint(
    operations: list[Any],
    setup: list[Any] | None = None,
    *,
    atomic: bool = True,
    pg_version: int = 15,
    config: Config | None = None,
    want_sql: bool = False,
    **attrs: Any,
) -> list[Finding]:
    first = make_migration("0001_initial", setup or [])
    second = make_migration(
        "0002_change", operations, atomic=atomic, dependencies=[(APP, "0001_initial")], **attrs
    )
    loader = FakeLoader([first, second])
    linter = Linter(loader, config or QUIET, pg_version=pg_version, want_sql=want_sql)
    result = linter.run({(APP, "0002_change")})
    return [f for f in result.findings if not f.suppressed]


def codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)
