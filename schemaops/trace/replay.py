"""The replay behind ``schemaops trace --compat`` (see :mod:`schemaops.trace.compat`).

:class:`Replay` holds what one run needs across its phases: Django's
executor on the scratch database, the two releases' rendered models, the
touched tables, the last row each release kept for the other to read, and
what each model already failed with.

In the pre-deploy phase the old code runs after *each* migration, on the
models that migration touched, so a break is blamed on the migration that
caused it; a later migration that breaks the same model differently (another
error) is blamed for its own break. The new code runs once at the end of a
phase: it only has to work once the phase is complete.
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
from schemaops.trace.runner import forwards_plan
from schemaops.trace.workload import Failure, error_text, exercise, read_back

Blame = tuple[dict[shape.OperationRef, set[str]], list[shape.OperationRef]]
Prints = dict[str, str | None]


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
        self.kept: dict[tuple[str, str], Any] = {}  # (release, table) -> newest kept row's pk
        self.excluded: set[tuple[str, str]] = set()  # (release, model label): baseline failed
        self.last_error: dict[tuple[str, str], str] = {}
        self.blame: dict[str, Blame] = {}
        # set once the state before the migrations under test is known (see _replay)
        self.executor: Any = None
        self.old: Any = None  # ProjectState of the old release
        self.releases: dict[str, tuple[Any, dict[shape.Key, str]]] = {}
        self.touched_keys: set[shape.Key] = set()
        self.tables_of: dict[shape.Key, set[str]] = {}
        self.baseline_all = False
        self._rendered: dict[str, list[Any]] = {}  # release -> its concrete managed models

    def run(self, selected: set[shape.Key], loader: Any = None) -> None:
        """Replay ``selected``; ``loader`` replaces the migrations on disk (a MigrationLoader
        built in memory, as tests do)."""
        from django.db.migrations.executor import MigrationExecutor

        from schemaops.trace.workload import forget_kept

        forget_kept()
        executor = MigrationExecutor(self.connection)
        if loader is not None:
            executor.loader = loader
        executor.recorder.ensure_schema()
        applied = set(executor.loader.applied_migrations)
        for key in sorted(selected & applied):
            self.result.notes.append(f"{key[0]}.{key[1]} is already applied; not replayed")
        wanted = sorted(selected - applied)
        plan = forwards_plan(executor, wanted, applied)
        steps = shape.split_plan(plan, selected - applied, executor.loader.graph)
        if not steps.pre and not steps.post:
            return
        self.executor = executor
        state = self._apply(steps.before, None)
        if self.result.error is None:
            self._replay(steps, state)

    def _replay(self, steps: shape.Rollout, state: Any) -> None:
        self.old = state.clone()
        new_state = _final_state(self.old, steps)
        old_tables, new_tables = shape.model_tables(self.old), shape.model_tables(new_state)
        self.releases = {OLD: (self.old, old_tables), NEW: (new_state, new_tables)}
        self.touched_keys = shape.changed_keys(self.old, new_state)
        self.tables_of = {k: {t} for k, t in old_tables.items()}
        for key, table in new_tables.items():
            self.tables_of.setdefault(key, set()).add(table)
        self.blame = {
            PRE_DEPLOY: shape.operation_tables(steps.pre, self.tables_of),
            POST_DEPLOY: shape.operation_tables(steps.post, self.tables_of),
        }
        # SQL, Python or custom operations may change any table: the baseline covers them all
        self.baseline_all = bool(self.blame[PRE_DEPLOY][1] or self.blame[POST_DEPLOY][1])
        prints = [self._fingerprints(sorted(set(old_tables.values()) | set(new_tables.values())))]
        self._seed(old_tables, prints[0])
        self._phase(BEFORE, [], [OLD], prints, state)
        # the new code starts once the pre-deploy migrations are in, even when there are none
        if self.result.error is None:
            state = self._phase(PRE_DEPLOY, steps.pre, [OLD, NEW], prints, state)
        if self.result.error is None and steps.post:
            self._phase(POST_DEPLOY, steps.post, [NEW], prints, state)

    def _apply(self, plan: list[Any], state: Any) -> Any:
        if not plan:
            return state if state is not None else self._applied_state()
        for migration, _ in plan:
            self.say(f"applying {migration.app_label}.{migration.name}")
        try:
            return self.executor.migrate([], plan=plan, state=state)
        except Exception as exc:
            self.result.error = f"a migration failed on the scratch database: {error_text(exc)}"
            return state

    def _applied_state(self) -> Any:
        """The migration state of what the scratch database has applied (nothing, unless
        it was cloned from the target)."""
        from django.db.migrations.state import ProjectState

        loader = self.executor.loader
        applied = [k for k in loader.applied_migrations if k in loader.graph.nodes]
        if applied:
            return loader.project_state(applied, at_end=True)
        return ProjectState(real_apps=set(loader.unmigrated_apps))

    def _phase(
        self, name: str, plan: list[Any], releases: list[str], prints: list[Prints], state: Any
    ) -> Any:
        report = PhaseReport(name, [f"{m.app_label}.{m.name}" for m, _ in plan], releases)
        self.result.phases.append(report)
        stepwise = OLD in releases and bool(plan)
        for group in [[pair] for pair in plan] if stepwise else [plan] if plan else []:
            state = self._step(name, group, state, prints, report, stepwise)
            if self.result.error is not None:
                return state
        self.say(f"replaying the {' and the '.join(releases)} code: {name}")
        _, ms = timed(lambda: self._finish(name, releases, prints, report, stepwise))
        report.replay_ms += ms
        return state

    def _step(
        self,
        phase: str,
        group: list[Any],
        state: Any,
        prints: list[Prints],
        report: PhaseReport,
        stepwise: bool,
    ) -> Any:
        """Apply ``group``; when stepwise, run the old code on the models it touched."""
        state, ms = timed(lambda: self._apply(group, state))
        report.apply_ms += ms
        if self.result.error is not None:
            return state
        prints.append(self._fingerprints(sorted(prints[0])))
        if stepwise:
            blame = shape.operation_tables(group, self.tables_of)
            changed = set().union(*blame[0].values()) | _changed(prints[-2], prints[-1])
            models = [m for m in self._models(OLD) if m._meta.db_table in changed]
            _, ms = timed(lambda: self._run(OLD, phase, models, report, blame))
            report.replay_ms += ms
        return state

    def _finish(
        self,
        phase: str,
        releases: list[str],
        prints: list[Prints],
        report: PhaseReport,
        stepwise: bool,
    ) -> None:
        """The releases that run at the end of the phase, then the cross reads."""
        changed = {t for p in prints[1:] for t in _changed(prints[0], p)}
        everything = phase == BEFORE and self.baseline_all
        models = {r: self._touched(r, changed, everything) for r in releases}
        for release in releases:
            if not (stepwise and release == OLD):
                self._run(release, phase, models[release], report, None)
        for release in releases:
            other = NEW if release == OLD else OLD
            for model in models[release]:
                pk = self.kept.get((other, model._meta.db_table))
                label = model._meta.label
                if pk is None or (release, label) in self.excluded | set(self.last_error):
                    continue  # nothing to read, or this code already broke on the table
                failure = read_back(model, self.options.alias, pk)
                report.statements += 1
                if failure is not None:
                    failure.step = f"read a row the {other} code wrote"
                    self._failed(release, phase, model, failure, None)

    def _run(
        self, release: str, phase: str, models: list[Any], report: PhaseReport, blame: Any
    ) -> None:
        for model in models:
            if (release, model._meta.label) in self.excluded:
                continue
            outcome = exercise(model, self.options.alias)
            report.models += 1
            report.statements += outcome.statements
            if outcome.failure is not None:
                self._failed(release, phase, model, outcome.failure, blame)
            else:
                self.kept[(release, model._meta.db_table)] = outcome.kept

    def _failed(
        self, release: str, phase: str, model: Any, failure: Failure, blame: Blame | None
    ) -> None:
        label = model._meta.label
        if failure.ours:
            self.excluded.add((release, label))
            self.result.notes.append(
                f"{label}: the replay could not exercise the {release} code ({failure.step}: "
                f"{failure.error}); not judged"
            )
            return
        if phase == BEFORE:
            self.excluded.add((release, label))
            self.result.notes.append(
                f"{label}: the old code fails on the old schema already ({failure.step}: "
                f"{failure.error}); not judged in the later phases"
            )
            return
        if self.last_error.get((release, label)) == failure.error:
            return  # the same break, still there after a later migration
        self.last_error[(release, label)] = failure.error
        table = model._meta.db_table
        suspects = _blamed(blame, table) if blame else self._suspects(phase, release, table)
        self.result.breaks.append(
            Break(
                release,
                phase,
                label,
                table,
                failure.step,
                failure.statement,
                failure.error,
                suspects,
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

    def _models(self, release: str) -> list[Any]:
        """Every concrete, managed model of the release, in a stable order."""
        if release not in self._rendered:
            state, tables = self.releases[release]
            apps = state.apps
            models = [apps.get_model(*key) for key in sorted(tables)]
            self._rendered[release] = [m for m in models if m._meta.managed and not m._meta.proxy]
        return self._rendered[release]

    def _touched(self, release: str, changed: set[str], everything: bool) -> list[Any]:
        """The release's models whose table the migrations touch (or all of them)."""
        keys = self.touched_keys
        return [
            m
            for m in self._models(release)
            if everything
            or (m._meta.app_label, m._meta.model_name) in keys
            or m._meta.db_table in changed
        ]

    def _fingerprints(self, tables: list[str]) -> Prints:
        with self.connection.cursor() as cur:
            return shape.fingerprints(cur, tables, self.connection.ops.quote_name)

    def _seed(self, tables: dict[shape.Key, str], prints: Prints) -> None:
        """Rows in the touched tables that exist on the old schema (parents first)."""
        from schemaops.db import connected
        from schemaops.trace.seed import seed

        keys = self.touched_keys
        wanted = {t for k, t in tables.items() if k in keys and prints.get(t) is not None}
        if not wanted or not self.options.rows:
            return
        self.say(f"seeding {self.options.rows} row(s) into {', '.join(sorted(wanted))}")
        with connected(self.params) as conn:
            seeding = seed(conn, wanted, self.options.rows)
        self.result.seeded.update(seeding.seeded)
        self.result.notes.extend(seeding.notes)


def _final_state(old: Any, steps: shape.Rollout) -> Any:
    """The new release: the migration state after every migration under test (models
    cloned without the old release's rendered apps, so mutating them stays cheap)."""
    from django.db.migrations.state import ProjectState

    models = {key: model.clone() for key, model in old.models.items()}
    state = ProjectState(models=models, real_apps=old.real_apps)
    for migration, _backwards in [*steps.pre, *steps.post]:
        state = migration.mutate_state(state, preserve=False)
    return state


def _changed(before: Prints, after: Prints) -> set[str]:
    return {t for t, digest in after.items() if digest != before.get(t)}


def _blamed(blame: Blame, table: str) -> list[shape.OperationRef]:
    named, opaque = blame
    return [ref for ref, tables in named.items() if table in tables] or list(opaque)
