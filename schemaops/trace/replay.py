"""The replay behind ``schemaops trace --compat`` (see :mod:`schemaops.trace.compat`).

:class:`Replay` holds what one run needs across its phases: Django's
executor on the scratch database, the two releases' rendered models, the
touched tables, the rows each release kept for the other to read, and the
models whose baseline failed.
"""

from __future__ import annotations

from typing import Any

from schemaops.trace import rollout as shape
from schemaops.trace.compat import (
    BEFORE,
    NEW,
    OLD,
    POST_DEPLOY,
    PRE_DEPLOY,
    Break,
    CompatOptions,
    CompatResult,
    PhaseReport,
    Progress,
    timed,
)
from schemaops.trace.workload import Failure, exercise, read_back


class Replay:
    def __init__(
        self,
        connection: Any,
        params: dict[str, Any],
        options: CompatOptions,
        result: CompatResult,
        say: Progress,
    ) -> None:
        self.connection = connection
        self.params = params
        self.options = options
        self.result = result
        self.say = say
        self.kept: dict[tuple[str, str], list[Any]] = {}  # (release, table) -> primary keys
        self.broken: set[tuple[str, str]] = set()  # (release, model label) already failed
        # phase -> (tables each operation names, operations that name none)
        self.blame: dict[str, tuple[dict[shape.OperationRef, set[str]], list[Any]]] = {}

    def run(self, selected: set[shape.Key], loader: Any = None) -> None:
        """Replay ``selected``; ``loader`` replaces the migrations on disk (a MigrationLoader
        built in memory, as tests do)."""
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(self.connection)
        if loader is not None:
            executor.loader = loader
        executor.recorder.ensure_schema()
        applied = set(executor.loader.applied_migrations)
        for key in sorted(selected & applied):
            self.result.notes.append(f"{key[0]}.{key[1]} is already applied; not replayed")
        wanted = sorted(selected - applied)
        plan = executor.migration_plan(wanted) if wanted else []
        steps = shape.split_plan(plan, selected - applied, executor.loader.graph)
        if not steps.pre and not steps.post:
            return
        state = self._apply(executor, steps.before, None)
        old_state = state.clone()
        self.executor, self.old = executor, old_state
        self._replay(executor, steps, state)

    def _replay(self, executor: Any, steps: shape.Rollout, state: Any) -> None:
        new_state = self._final_state(executor, steps)
        old_tables, new_tables = shape.model_tables(self.old), shape.model_tables(new_state)
        every = sorted(set(old_tables.values()) | set(new_tables.values()))
        touched_keys = shape.changed_keys(self.old, new_state)
        prints = [self._fingerprints(every)]
        self._seed(old_tables, touched_keys, prints[0])
        releases = {OLD: (self.old, old_tables), NEW: (new_state, new_tables)}
        tables = {k: {t} for k, t in old_tables.items()}
        for key, table in new_tables.items():
            tables.setdefault(key, set()).add(table)
        self.tables_of = tables
        self.touched_keys = touched_keys
        # SQL, Python or custom operations may change any table: the baseline covers them all
        _, opaque = shape.operation_tables([*steps.pre, *steps.post], tables)
        self.baseline_all = bool(opaque)
        self.releases = releases
        self.blame = {
            PRE_DEPLOY: shape.operation_tables(steps.pre, tables),
            POST_DEPLOY: shape.operation_tables(steps.post, tables),
        }
        self._phase(BEFORE, [], [OLD], prints)
        # the new code starts once the pre-deploy migrations are in, even when there are none
        if self.result.error is None:
            state = self._phase(PRE_DEPLOY, steps.pre, [OLD, NEW], prints, state)
        if self.result.error is None and steps.post:
            self._phase(POST_DEPLOY, steps.post, [NEW], prints, state)

    def _final_state(self, executor: Any, steps: shape.Rollout) -> Any:
        """The new release: the migration state after every migration under test (models
        cloned without the old release's rendered apps, so mutating them stays cheap)."""
        from django.db.migrations.state import ProjectState

        models = {key: model.clone() for key, model in self.old.models.items()}
        state = ProjectState(models=models, real_apps=self.old.real_apps)
        for migration, _backwards in [*steps.pre, *steps.post]:
            state = migration.mutate_state(state, preserve=False)
        return state

    def _apply(self, executor: Any, plan: list[Any], state: Any) -> Any:
        if not plan:
            return state if state is not None else executor._create_project_state(True)
        for migration, _ in plan:
            self.say(f"applying {migration.app_label}.{migration.name}")
        try:
            return executor.migrate([], plan=plan, state=state)
        except Exception as exc:
            from schemaops.trace.workload import error_text

            self.result.error = f"a migration failed on the scratch database: {error_text(exc)}"
            return state

    def _phase(
        self,
        name: str,
        plan: list[Any],
        releases: list[str],
        prints: list[dict[str, str | None]],
        state: Any = None,
    ) -> Any:
        label = [f"{m.app_label}.{m.name}" for m, _ in plan]
        report = PhaseReport(name, label, releases)
        self.result.phases.append(report)
        if plan:
            state, report.apply_ms = timed(lambda: self._apply(self.executor, plan, state))
            if self.result.error is not None:
                return state
            prints.append(self._fingerprints(sorted(prints[0])))
        self.say(f"replaying the {' and the '.join(releases)} code: {name}")
        _, report.replay_ms = timed(lambda: self._exercise(name, releases, prints, report))
        return state

    def _exercise(
        self, phase: str, releases: list[str], prints: list[Any], report: PhaseReport
    ) -> None:
        changed = self._changed_tables(prints)
        everything = phase == BEFORE and self.baseline_all
        models = {r: self._models(r, changed, everything) for r in releases}
        for release in releases:
            for model in models[release]:
                outcome = exercise(model, self.options.alias)
                report.models += 1
                report.statements += outcome.statements
                if outcome.failure is not None:
                    self._failed(release, phase, model, outcome.failure)
                else:
                    key = (release, model._meta.db_table)
                    self.kept.setdefault(key, []).append(outcome.kept)
        for release in releases:
            other = NEW if release == OLD else OLD
            for model in models[release]:
                for pk in self.kept.get((other, model._meta.db_table), []):
                    failure = read_back(model, self.options.alias, pk)
                    report.statements += 1
                    if failure is not None:
                        failure.step = f"read a row the {other} code wrote"
                        self._failed(release, phase, model, failure)
                        break

    def _failed(self, release: str, phase: str, model: Any, failure: Failure) -> None:
        label = model._meta.label
        if (release, label) in self.broken:
            return
        self.broken.add((release, label))
        if phase == BEFORE:
            self.result.notes.append(
                f"{label}: the old code fails on the old schema already ({failure.step}: "
                f"{failure.error}); not judged in the later phases"
            )
            return
        table = model._meta.db_table
        self.result.breaks.append(
            Break(
                release,
                phase,
                label,
                table,
                failure.step,
                failure.statement,
                failure.error,
                self._suspects(phase, release, table),
            )
        )

    def _suspects(self, phase: str, release: str, table: str) -> list[shape.OperationRef]:
        """The operations of the phase that name the table, else those that name no table.
        The new code failing before the post-deploy phase needs a post-deploy operation:
        those are suspects too, after the phase's own."""
        phases = [phase] + ([POST_DEPLOY] if (phase, release) == (PRE_DEPLOY, NEW) else [])
        for p in phases:
            named, _ = self.blame.get(p, ({}, []))
            direct = [ref for ref, tables in named.items() if table in tables]
            if direct:
                return direct
        return [ref for p in phases for ref in self.blame.get(p, ({}, []))[1]]

    def _changed_tables(self, prints: list[dict[str, str | None]]) -> set[str]:
        first = prints[0]
        return {t for p in prints[1:] for t, digest in p.items() if digest != first.get(t)}

    def _models(self, release: str, changed: set[str], everything: bool) -> list[Any]:
        """The release's models whose table the migrations touch (or all), in a stable order."""
        state, tables = self.releases[release]
        keys = sorted(
            k for k, t in tables.items() if everything or k in self.touched_keys or t in changed
        )
        apps = state.apps
        models = [apps.get_model(*k) for k in keys]
        return [m for m in models if m._meta.managed and not m._meta.proxy]

    def _fingerprints(self, tables: list[str]) -> dict[str, str | None]:
        with self.connection.cursor() as cur:
            return shape.fingerprints(cur, tables, self.connection.ops.quote_name)

    def _seed(self, tables: dict[shape.Key, str], keys: set[shape.Key], prints: Any) -> None:
        """Rows in the touched tables that exist on the old schema (parents first)."""
        from schemaops.db import connected
        from schemaops.trace.seed import seed

        wanted = {t for k, t in tables.items() if k in keys and prints.get(t) is not None}
        if not wanted or not self.options.rows:
            return
        self.say(f"seeding {self.options.rows} row(s) into {', '.join(sorted(wanted))}")
        with connected(self.params) as conn:
            seeding = seed(conn, wanted, self.options.rows)
        self.result.seeded.update(seeding.seeded)
        self.result.notes.extend(seeding.notes)
