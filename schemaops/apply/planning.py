"""What ``schemaops migrate`` would apply: the forward plan, its phases and its findings.

A plan is Django's own ``MigrationExecutor.migration_plan`` for the targets,
forwards only. ``phase="pre"`` keeps the pre-deploy (expand) migrations and
stops with a clear error when one of them depends on a post-deploy migration
that is not applied; ``phase="post"`` applies what is left (the contract
migrations, and any pre-deploy one still pending before them). Every planned
migration is linted like ``schemaops check`` would; one with an error
finding is refused unless ``allow`` names it (``app.migration``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemaops.config import Config
from schemaops.errors import ConfigError, RunFailed, UnknownAppError
from schemaops.findings import Finding, Severity
from schemaops.phases import POST, PRE, Phase, phase_of

Key = tuple[str, str]


@dataclass
class Planned:
    key: Key
    migration: Any
    phase: Phase
    findings: list[Finding] = field(default_factory=list)
    allowed: bool = False

    @property
    def label(self) -> str:
        return f"{self.key[0]}.{self.key[1]}"

    @property
    def atomic(self) -> bool:
        return bool(getattr(self.migration, "atomic", True))

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR and not f.suppressed]

    @property
    def refused(self) -> bool:
        return bool(self.errors) and not self.allowed


@dataclass
class ApplyPlan:
    items: list[Planned]
    deferred: list[Planned] = field(default_factory=list)  # post-deploy, left for --phase post
    phase: Phase | None = None

    @property
    def findings(self) -> list[Finding]:
        return [f for item in self.items for f in item.findings]

    @property
    def refused(self) -> list[Planned]:
        return [item for item in self.items if item.refused]


def targets_for(loader: Any, app_label: str | None, name: str | None) -> list[Key]:
    """Leaf nodes (everything), an app's leaf, or one named migration (prefix ok)."""
    graph = loader.graph
    if app_label is None:
        return sorted(graph.leaf_nodes())
    if app_label not in loader.migrated_apps:
        raise UnknownAppError(f"app {app_label!r} has no migrations")
    if name is None:
        return sorted(k for k in graph.leaf_nodes() if k[0] == app_label)
    try:
        migration = loader.get_migration_by_prefix(app_label, name)
    except Exception as exc:  # AmbiguityError, KeyError
        raise UnknownAppError(f"migration {app_label}.{name}: {exc}") from None
    return [(migration.app_label, migration.name)]


def build_plan(executor: Any, targets: list[Key], phase: Phase | None) -> ApplyPlan:
    """The forward plan split by phase; raises when a pre item needs a pending post one."""
    if behind(executor.loader, targets):
        raise ConfigError(
            "the target is behind what the database has applied; schemaops migrate only "
            "applies forwards (unapply with manage.py migrate)"
        )
    items = [Planned(key, m, phase_of(m)) for key, m in forwards_plan(executor.loader, targets)]
    if phase != PRE:
        return ApplyPlan(items, [], phase)
    pre = [i for i in items if i.phase == PRE]
    post = {i.key: i for i in items if i.phase == POST}
    graph = executor.loader.graph
    for item in pre:
        blocking = sorted(set(graph.forwards_plan(item.key)) & post.keys())
        if blocking:
            parent = post[blocking[0]]
            raise RunFailed(
                f"pre-deploy migration {item.label} depends on post-deploy migration "
                f"{parent.label}, which is not applied: deploy first and run "
                f"`schemaops migrate --phase post`, or move the dependency"
            )
    return ApplyPlan(pre, list(post.values()), phase)


def forwards_plan(loader: Any, targets: list[Key]) -> list[tuple[Key, Any]]:
    """Every unapplied migration the targets need, once each, in dependency order.

    The technique of :func:`schemaops.trace.runner.forwards_plan`, not Django's
    ``executor.migration_plan(targets)``: given a target that an earlier target's plan
    already passed, Django plans steps back and the same migrations forwards again.
    """
    graph = loader.graph
    seen = set(loader.applied_migrations)
    plan = []
    for target in targets:
        for key in graph.forwards_plan(target):
            if key not in seen:
                seen.add(key)
                plan.append((key, graph.nodes[key]))
    return plan


def behind(loader: Any, targets: list[Key]) -> bool:
    """Whether reaching a target means unapplying something (Django's backwards case):
    the target is applied and so is a later migration of its app after it."""
    graph, applied = loader.graph, loader.applied_migrations
    for target in targets:
        if target not in applied:
            continue
        after = [n for n in graph.node_map[target].children if n[0] == target[0]]
        if any(m in applied for node in after for m in graph.backwards_plan(node)):
            return True
    return False


def lint_plan(plan: ApplyPlan, loader: Any, cfg: Config, applied: set[Key], allow: set[str]) -> Any:
    """Attach ``schemaops check`` findings to each planned migration; mark the allowed ones.

    Only the project's own apps are linted (like ``check``): third-party and
    Django's migrations cannot be changed by the user anyway.
    """
    from schemaops.linter import Linter

    unknown = allow - {item.label for item in plan.items}
    if unknown:
        raise ConfigError(f"--allow names a migration that is not planned: {sorted(unknown)[0]}")
    from schemaops.selection import project_apps

    own = set(cfg.apps or project_apps()) - set(cfg.exclude_apps)
    linter = Linter(loader, cfg, pg_version=cfg.pg_version or 15, applied=applied)
    result = linter.run({item.key for item in plan.items if item.key[0] in own})
    by_key: dict[Key, list[Finding]] = {}
    for f in result.findings:
        by_key.setdefault((f.app or "", f.migration or ""), []).append(f)
    for item in plan.items:
        item.findings = by_key.get(item.key, [])
        item.allowed = item.label in allow
    return linter, result
