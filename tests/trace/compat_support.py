"""Replay in-memory migrations with ``schemaops trace --compat`` (imported as compat_support).

``replay(setup, operations)`` puts ``setup`` in migration 0001 of app ``shop``
(the old schema), ``operations`` in 0002 (under test; ``phase="post"`` makes
it post-deploy) and optional ``post`` operations in a post-deploy 0003, then
runs the real replay on a scratch database of the local server.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.migrations.graph import MigrationGraph
from django.db.migrations.loader import MigrationLoader
from lintkit import APP, make_migration
from support import PG

from schemaops.trace.compat import CompatOptions, CompatResult, run_compat


def build_migrations(
    setup: list[Any], operations: list[Any], post: list[Any] | None = None, *, phase: str = "pre"
) -> list[Any]:
    found = [make_migration("0001_initial", setup)]
    found.append(
        make_migration(
            "0002_change", operations, dependencies=[(APP, "0001_initial")], deploy_phase=phase
        )
    )
    if post:
        found.append(
            make_migration(
                "0003_contract", post, dependencies=[(APP, "0002_change")], deploy_phase="post"
            )
        )
    return found


def memory_loader(found: list[Any]) -> MigrationLoader:
    """A real MigrationLoader whose graph holds ``found`` instead of the files on disk."""
    loader = MigrationLoader(connections["default"], load=False)
    loader.graph = MigrationGraph()
    for migration in found:
        key = (migration.app_label, migration.name)
        loader.graph.add_node(key, migration)
    for migration in found:
        for dep in migration.dependencies:
            loader.graph.add_dependency(migration, (migration.app_label, migration.name), dep)
    loader.applied_migrations = {}
    loader.unmigrated_apps = set()
    loader.migrated_apps = {APP}
    loader.replacements = {}
    loader.disk_migrations = {(m.app_label, m.name): m for m in found}
    return loader


def replay(
    setup: list[Any],
    operations: list[Any],
    post: list[Any] | None = None,
    *,
    phase: str = "pre",
    rows: int = 0,
) -> tuple[CompatResult, MigrationLoader]:
    found = build_migrations(setup, operations, post, phase=phase)
    loader = memory_loader(found)
    selected = {(m.app_label, m.name) for m in found[1:]}
    options = CompatOptions(server=dict(PG), rows=rows)
    return run_compat(selected, options, loader=loader), loader
