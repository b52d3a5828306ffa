"""``check`` shows the planner's remedy: one per operation, shared by its findings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from schemaops.findings import Finding
from schemaops.remedy.project import MigrationKey, leaf_of, plan_project
from schemaops.remedy.writer import INLINE_LIMIT, layout, remedy_text

if TYPE_CHECKING:
    from django.db.migrations.loader import MigrationLoader


# Remedies planned per check run, in graph order (`schemaops fix` plans them all). The
# planner gets the SQL the walk generated, so a remedy costs about a millisecond (the
# bench's 481 remedies at 1,000 migrations: ~0.5 s CPU, against ~3.7 s when every one
# regenerated its SQL); the cap only bounds a whole legacy project's run.
PLAN_LIMIT = 1000


def group_key(app: str, migration: str, operation: int) -> str:
    """The key that ties an operation's findings together: ``app.migration#index``."""
    return f"{app}.{migration}#{operation}"


def attach_remedies(
    findings: list[Finding],
    loader: MigrationLoader,
    pg_version: int = 150000,
    sql: Mapping[tuple[str, str, int], tuple[list[str], list[str]]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Group findings by operation and give each planned operation's findings one remedy.

    Sets ``group`` on every finding about an operation, and ``remedy`` and
    ``recipe`` (the shared remedy's text, for version 1 consumers) on the
    findings of operations the planner has a remedy for. Returns the remedies
    by group key. Squashed migrations get no remedy (they run only on empty
    databases, and ``fix`` never rewrites them). Only the first ``PLAN_LIMIT``
    remedies are planned; later operations keep their rules' (capped) recipes.
    ``sql``: the operations' SQL and reverse SQL the check walk generated
    (``LintResult.sql``), so planning renders no model again.
    """
    from schemaops.rules import registered

    rules = registered()
    wanted: dict[MigrationKey, set[int]] = defaultdict(set)
    for f in findings:
        if f.app and f.migration and f.operation is not None:
            f.group = group_key(f.app, f.migration, f.operation)
            # info too: hygiene rules' remedies come from the planner
            if not f.suppressed and _plannable(f, rules):
                wanted[(f.app, f.migration)].add(f.operation)
    wanted = {
        k: v
        for k, v in wanted.items()
        if k in loader.graph.nodes and not getattr(loader.graph.nodes[k], "replaces", None)
    }
    plans = plan_project(loader, wanted, pg_version, limit=PLAN_LIMIT, sql=sql)
    remedies = _remedies(loader, plans)
    for f in findings:
        if f.group in remedies:
            f.remedy = f.group
            f.recipe = remedies[f.group]["recipe"]
        elif f.recipe:
            f.recipe = capped(f.recipe)
    return remedies


# Rule categories no planned remedy addresses: a missing lock or statement timeout is
# a setting of the migration, not a change of the operation, and keeps its rule's recipe.
_NOT_PLANNED = frozenset({"timeouts"})


def _plannable(f: Finding, rules: Mapping[str, Any]) -> bool:
    """Does ``f`` ask for the planner's remedy of its operation? Not a timeout finding:
    an operation with nothing else to fix (most of a legacy project's) is not planned."""
    rule = rules.get(f.code)
    return rule is None or rule.category not in _NOT_PLANNED


def capped(recipe: str) -> str:
    """A rule's own recipe, cut to what a report can show (a squashed migration's
    recipe once ran to 41,000 characters)."""
    lines = recipe.rstrip().splitlines()
    if len(lines) <= INLINE_LIMIT and len(recipe) <= INLINE_LIMIT * 100:
        return recipe
    kept = [line[:200] for line in lines[: INLINE_LIMIT - 1]]
    return "\n".join([*kept, f"# ... {len(lines) - len(kept)} more line(s) not shown"])


def _remedies(loader: MigrationLoader, plans: dict[MigrationKey, Any]) -> dict[str, dict[str, Any]]:
    from schemaops.phases import POST, phase_of

    out = {}
    leaves: dict[str, str | None] = {}  # leaf_of walks the whole graph: once per app
    for (app, name), by_index in plans.items():
        migration = loader.graph.nodes[(app, name)]
        if app not in leaves:
            leaves[app] = leaf_of(loader, app)
        leaf = leaves[app] or name
        post = phase_of(migration) == POST
        for index, remedy in by_index.items():
            files = (  # advice only: nothing to write
                layout(app, migration, {index: remedy}, leaf=leaf, post_phase=post)
                if not remedy.advice
                else []
            )
            out[group_key(app, name, index)] = {
                "kind": remedy.kind,
                "summary": remedy.summary,
                "backfill": remedy.backfill,
                "instructions": remedy.instructions,
                "files": [{"name": f.name, "post": f.post, "atomic": f.atomic} for f in files],
                "recipe": remedy_text(remedy, files, f"schemaops fix {app} {name}"),
            }
    return out
