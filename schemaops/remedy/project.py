"""Remedies for the migrations of a project: one walk of the graph, state before each operation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from schemaops.phases import POST, phase_of
from schemaops.remedy.planner import PlanContext, Remedy, plan_operation

if TYPE_CHECKING:
    from django.db.migrations.loader import MigrationLoader

MigrationKey = tuple[str, str]


def plan_project(
    loader: MigrationLoader,
    wanted: Mapping[MigrationKey, set[int] | None],
    pg_version: int = 150000,
    limit: int | None = None,
    sql: Mapping[tuple[str, str, int], tuple[list[str], list[str]]] | None = None,
) -> dict[MigrationKey, dict[int, Remedy]]:
    """Remedies of the operations ``wanted`` names (None: every operation), by migration.

    The graph is walked forward once, state only; an operation is planned on
    the state just before it. With ``limit``, planning stops after that many
    remedies (in graph order). ``sql``: operations' SQL and reverse SQL already
    generated, by (app, migration, index) (``check``'s walk), passed to the planner.
    """
    from django.db import migrations
    from django.db.migrations.state import ProjectState

    from schemaops.plan import Walker
    from schemaops.remedy.sqlops import SqlFacts, statement_nodes

    state = ProjectState(real_apps=set(loader.unmigrated_apps))
    facts = SqlFacts()
    plans: dict[MigrationKey, dict[int, Remedy]] = {}
    remaining = set(wanted)
    found_total = 0
    for key in Walker(loader).full_plan():
        if not remaining or (limit is not None and found_total >= limit):
            break
        remaining.discard(key)
        migration = loader.graph.nodes[key]
        indices = wanted.get(key, set()) if key in wanted else set()
        want_all = key in wanted and wanted[key] is None
        found = {}
        new_tables: set[str] = set()
        facts.start_migration()
        post = phase_of(migration) == POST
        atomic = bool(getattr(migration, "atomic", True))
        for index, op in enumerate(migration.operations):
            # a RunSQL's statements, parsed once for its plan and the facts recorded
            nodes = statement_nodes(op.sql) if isinstance(op, migrations.RunSQL) else None
            if want_all or index in (indices or ()):
                context = PlanContext(
                    pg_version=pg_version,
                    atomic=atomic,
                    post_phase=post,
                    new_tables=new_tables,
                    facts=facts,
                    sql=sql.get((key[0], key[1], index)) if sql else None,
                    statements=nodes,
                )
                remedy = plan_operation(op, key[0], state, context)
                if remedy is not None:
                    found[index] = remedy
                    found_total += 1
            _note_new_table(op, key[0], state, new_tables)
            facts.record(op, key[0], state, statements=nodes)
            op.state_forwards(key[0], state)
        if found:
            plans[key] = found
    return plans


def _note_new_table(op: Any, app_label: str, state: Any, new_tables: set[str]) -> None:
    from django.db import migrations

    from schemaops.plan import db_table_for

    if isinstance(op, migrations.CreateModel):
        new_tables.add(db_table_for(app_label, op.name, op.options))


def leaves_of(loader: MigrationLoader) -> dict[str, str]:
    """Each app's latest migration (the first leaf, when there are several), by app label:
    one walk of the graph for every app (``leaf_nodes`` walks the whole graph)."""
    leaves: dict[str, str] = {}
    for app, name in sorted(loader.graph.leaf_nodes()):
        leaves.setdefault(app, name)
    return leaves
