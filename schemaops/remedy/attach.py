"""``check`` shows the planner's remedy: one per operation, shared by its findings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from schemaops.defaults import LOCK_TIMEOUT
from schemaops.findings import Finding
from schemaops.remedy.project import MigrationKey, leaves_of, plan_project
from schemaops.remedy.writer import INLINE_LIMIT, WrittenParts, layout, remedy_text

if TYPE_CHECKING:
    from django.db.migrations.loader import MigrationLoader


def group_key(app: str, migration: str, operation: int) -> str:
    """The key that ties an operation's findings together: ``app.migration#index``."""
    return f"{app}.{migration}#{operation}"


def attach_remedies(
    findings: list[Finding],
    loader: MigrationLoader,
    pg_version: int = 150000,
    sql: Mapping[tuple[str, str, int], tuple[list[str], list[str]]] | None = None,
    lock_timeout: str = LOCK_TIMEOUT,
) -> dict[str, dict[str, Any]]:
    """Group findings by operation and give each planned operation's findings one remedy.

    Sets ``group`` on every finding about an operation, and ``remedy`` and
    ``recipe`` (the shared remedy's text, for version 1 consumers) on the
    findings of operations the planner has a remedy for. Returns the remedies
    by group key. Squashed migrations get no remedy (they run only on empty
    databases, and ``fix`` never rewrites them). Every operation is planned, however
    many: the planner gets the SQL the walk generated, so a remedy costs well under a
    millisecond, and what one operation gets does not depend on how many others need one
    (nor on how a run is shared between processes, see schemaops.gate.shards).
    ``sql``: the operations' SQL and reverse SQL the check walk generated
    (``LintResult.sql``), so planning renders no model again. ``lock_timeout``: what
    the planned files set (they bound their lock waits themselves, so an operation's
    timeout findings, SO401 and SO402, need nothing beyond the planner's remedy).
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
    plans = plan_project(loader, wanted, pg_version, sql=sql)
    remedies = _remedies(loader, plans, lock_timeout)
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.group and not f.suppressed:
            groups[f.group].append(f)
    for f in findings:
        if f.group in remedies:
            f.remedy = f.group
            f.recipe = remedies[f.group]["recipe"]
    for key, group in groups.items():
        if key not in remedies:
            one = one_recipe(group, rules)
            for f in group:
                if f.recipe:
                    f.recipe = one
    for f in findings:
        if f.recipe and f.group not in remedies:
            f.recipe = capped(f.recipe)
    return remedies


def _is_timeout(f: Finding, rules: Mapping[str, Any]) -> bool:
    rule = rules.get(f.code)
    return rule is not None and rule.category in _NOT_PLANNED


def one_recipe(group: list[Finding], rules: Mapping[str, Any]) -> str | None:
    """The one recipe of an operation the planner has no remedy for.

    Each rule writes its recipe alone; on an operation several rules describe, showing
    each would give the reader several remedies, one of which (the migration-wide
    timeout) only makes sense together with the other. The recipes are composed in one
    sequence instead: the timeout SETs first (they open the migration), then each
    distinct hazard's steps, worst first, each headed by the codes it resolves.
    """
    ranked = sorted((f for f in group if f.recipe), key=lambda f: (-f.severity, f.code))
    own: dict[str, list[str]] = {}
    timeouts: list[Finding] = []
    for f in ranked:
        if _is_timeout(f, rules):
            timeouts.append(f)
        else:
            own.setdefault(str(f.recipe), []).append(f.code)
    if not own:
        if not timeouts:
            return None
        return _with_timeouts(str(timeouts[0].recipe), timeouts[1:])
    if len(own) == 1:
        text = next(iter(own))
    else:
        text = "\n\n".join(
            f"# {step}. for {', '.join(dict.fromkeys(codes))}:\n{recipe.rstrip()}"
            for step, (recipe, codes) in enumerate(own.items(), 1)
        )
    return _with_timeouts(text, timeouts, first=True) if timeouts else text


def _set_lines(recipe: str) -> list[str]:
    """The ``migrations.RunSQL("SET ...")`` lines of a timeout rule's recipe."""
    return [line for line in recipe.splitlines() if 'migrations.RunSQL("SET' in line]


def _with_timeouts(text: str, timeouts: list[Finding], first: bool = False) -> str:
    """``text`` with the timeout SETs the operation's migration lacks, once each.

    ``first``: the SETs go before ``text`` (the migration's first operations); otherwise
    (``text`` is a timeout recipe itself) after its own SET line.
    """
    lines = list(dict.fromkeys(line for f in timeouts for line in _set_lines(str(f.recipe))))
    lines = [line for line in lines if line.strip() not in text]
    if not lines:
        return text
    own = text.splitlines()
    at = next((i for i, line in enumerate(own) if 'migrations.RunSQL("SET' in line), None)
    if not first and at is not None:
        return "\n".join([*own[: at + 1], *lines, *own[at + 1 :]])
    return "\n".join(
        [
            "# first, as the migration's FIRST operation(s) (or apply it with "
            "`schemaops migrate`, which sets the timeouts):",
            *(line.strip() for line in lines),
            "",
            text.rstrip(),
        ]
    )


# Rule categories no planned remedy addresses: a missing lock or statement timeout is
# a setting of the migration, not a change of the operation. A planned remedy's files
# set lock_timeout themselves (and take no slow blocking lock that would need a
# statement_timeout); otherwise the advice joins the composed recipe of the rules.
_NOT_PLANNED = frozenset({"timeouts"})


def wants_remedy(f: Finding, rules: Mapping[str, Any]) -> bool:
    """Does :func:`attach_remedies` plan ``f``'s operation (outside squashed migrations)?
    The check walk generates the reverse SQL of those only."""
    return f.operation is not None and not f.suppressed and _plannable(f, rules)


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


def _remedies(
    loader: MigrationLoader, plans: dict[MigrationKey, Any], lock_timeout: str
) -> dict[str, dict[str, Any]]:
    from schemaops.phases import POST, phase_of

    out = {}
    leaves = leaves_of(loader)
    parts = WrittenParts()  # what recurs in the files (timeouts, kept operations): once
    for (app, name), by_index in plans.items():
        migration = loader.graph.nodes[(app, name)]
        leaf = leaves.get(app) or name
        post = phase_of(migration) == POST
        for index, remedy in by_index.items():
            files = (  # advice only: nothing to write
                layout(
                    app,
                    migration,
                    {index: remedy},
                    leaf=leaf,
                    post_phase=post,
                    lock_timeout=lock_timeout,
                    parts=parts,
                )
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
