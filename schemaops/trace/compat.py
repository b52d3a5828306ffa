"""``schemaops trace --compat``: the old and the new code against every phase of a deploy.

On a scratch database (:class:`~schemaops.trace.scratch.ScratchDatabase`):

1. the migrations before the ones under test are applied: the **old schema**;
   the old release (models rendered from the migration state at this point)
   must work here: the baseline;
2. the pre-deploy migrations under test are applied: the old release, still
   running during the rollout, and the new release (the state after every
   migration under test) must both work;
3. the post-deploy migrations are applied: the new release must work.

"Works" is :func:`schemaops.trace.workload.exercise` for every model whose
table the migrations touch (the migration state changed it, or PostgreSQL's
catalog shows it changed), then each release reads the rows the other
release wrote. A statement PostgreSQL refuses is a :class:`Break`; a break in
the baseline is only a note (the old code fails before the migrations, so they
are not the cause) and that model is not judged in the later phases.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from schemaops.trace.rollout import Key, OperationRef

Progress = Callable[[str], None]

OLD, NEW = "old", "new"
BEFORE, PRE_DEPLOY, POST_DEPLOY = "old schema", "after pre-deploy", "after post-deploy"
RELEASE_WORDS = {
    OLD: "the old code (the release before these migrations)",
    NEW: "the new code (the release after them)",
}


@dataclass
class Break:
    """One statement of one release that PostgreSQL refused in one phase of the rollout."""

    release: str
    phase: str
    model: str
    table: str
    step: str
    statement: str
    error: str
    suspects: list[OperationRef] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "phase": self.phase,
            "model": self.model,
            "table": self.table,
            "step": self.step,
            "statement": self.statement,
            "error": self.error,
            "suspects": [list(s) for s in self.suspects],
        }


@dataclass
class PhaseReport:
    """One phase: what was applied, which releases ran, and what it cost."""

    name: str
    migrations: list[str]
    releases: list[str]
    models: int = 0
    statements: int = 0
    apply_ms: float = 0.0
    replay_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "phase": self.name,
            "migrations": self.migrations,
            "releases": self.releases,
            "models": self.models,
            "statements": self.statements,
            "apply_ms": round(self.apply_ms, 3),
            "replay_ms": round(self.replay_ms, 3),
        }


@dataclass
class CompatResult:
    server: str = ""
    phases: list[PhaseReport] = field(default_factory=list)
    breaks: list[Break] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seeded: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # a migration that failed on the scratch database

    @property
    def failed(self) -> bool:
        return bool(self.breaks or self.error)

    def findings(self) -> list[Any]:
        from schemaops.trace.compat_findings import break_finding

        return [break_finding(b) for b in self.breaks]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "server": self.server,
            "seeded": self.seeded,
            "notes": self.notes,
            "error": self.error,
            "phases": [p.to_dict() for p in self.phases],
            "breaks": [b.to_dict() for b in self.breaks],
            "findings": [f.to_dict() for f in self.findings()],
        }


@dataclass(frozen=True)
class CompatOptions:
    alias: str = "default"
    server: dict[str, Any] | None = None  # libpq params of the server; None = the alias's
    from_database: bool = False
    # seeded into each touched table (and its parents) before the replay; none by default:
    # the baseline leaves a row of the old code in each, and an empty parent table gets a
    # seeded row when a foreign key needs one
    rows: int = 0


def run_compat(
    selected: set[Key],
    options: CompatOptions,
    progress: Progress | None = None,
    loader: Any = None,
) -> CompatResult:
    """Replay the rollout of ``selected`` on a scratch database; see the module docstring.

    ``loader`` (a Django ``MigrationLoader``) replaces the migrations found on disk."""
    from schemaops.db import describe, django_params
    from schemaops.trace.runner import pointed_at
    from schemaops.trace.scratch import ScratchDatabase, clone_schema

    say = progress or (lambda message: None)
    target = django_params(options.alias)
    server = options.server or target
    result = CompatResult(server=describe(server))
    with ScratchDatabase(server) as scratch:
        for name in scratch.swept:
            say(f"dropped {name}, left behind by a schemaops run that no longer exists")
        say(f"scratch database {scratch.name} on {describe(server)}")
        if options.from_database:
            source = {**server, "dbname": server.get("dbname") or target.get("dbname")}
            clone_schema(source, scratch.params)
        _unlogged_commits(scratch.params)
        with pointed_at(options.alias, scratch.params) as connection:
            from schemaops.trace.replay import Replay

            Replay(connection, scratch.params, options, result, say).run(selected, loader)
    return result


def _unlogged_commits(params: dict[str, Any]) -> None:
    """The replay commits after every statement; on a database that is thrown away a commit
    need not wait for its WAL flush (a setting of this database only, not of the server)."""
    from schemaops.db import connected, sql

    with connected(params) as conn, conn.cursor() as cur:
        name = sql.Identifier(params["dbname"])
        cur.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(name))


def timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = action()
    return value, (time.perf_counter() - started) * 1000
