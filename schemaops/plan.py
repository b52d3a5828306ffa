"""One forward walk of the migration graph: each operation with its state and SQL.

Django's ``sqlmigrate`` rebuilds the loader and replays every ancestor for
each migration, which makes linting a long history quadratic. The walk here
loads the graph once (without a database connection), carries one
:class:`~django.db.migrations.state.ProjectState` forward through every
migration in plan order, and yields a :class:`MigrationStep` per migration.

Cost model (measured with ``bench/check_bench.py``): ``state_forwards`` on
an unrendered state is almost free; rendering models is what costs. So the
walk renders nothing unless asked for SQL (``check`` always asks). Then only
the models an operation touches (and what they reference, as stand-ins) are
rendered, into a small state on each side of the operation, and Django's own
``database_forwards`` runs against one collecting schema editor that never
touches the network. Renderings are kept and reused while the models they
were made from are unchanged (the rendering after an operation is the one
before the next operation on that model, across migrations: about one
rendering per operation instead of two; a rendering holding more models in
full, such as a renamed field's model with its referrers, serves an operation
on fewer of them), and operations that provably run no
SQL (``AlterModelOptions``, operations on unmanaged or proxy models) render
nothing (:func:`provably_no_sql`).

Three more savings, each exact (``tests/checks/test_sql_matches_django.py``
compares every operation's SQL with ``sqlmigrate``'s full rendering): an
operation that reads no relation of its model renders it without the
relations, and nothing they point at (:func:`lean_operation`); one that reads
no Meta index or constraint reuses a rendering made before the model's last
index or constraint change (:func:`meta_blind`: on the benchmark, one
rendering per two operations); and plain fields are copied, not cloned, into
the rendered models (:class:`_CopyingModelState`).
"""

from __future__ import annotations

import copy
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any

from django.db import migrations as dj_migrations
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ModelState, ProjectState
from django.db.migrations.utils import resolve_relation
from django.db.models import Field

from schemaops._gc import sweep_young
from schemaops.dbfacts import DatabaseFacts
from schemaops.errors import GraphError

ModelKey = tuple[str, str]
_RenderKey = tuple[frozenset[ModelKey], bool]  # the models rendered in full; lean or not
DEFAULT_PG_VERSION = 15


@dataclass
class ModelSnapshot:
    """A cheap, frozen view of a ModelState at one point of the walk."""

    app_label: str
    name: str
    fields: dict[str, Any]
    options: dict[str, Any]
    bases: tuple[Any, ...]

    @classmethod
    def of(cls, state: ModelState | None) -> ModelSnapshot | None:
        if state is None:
            return None
        options = dict(state.options)
        options["indexes"] = list(options.get("indexes", []))
        options["constraints"] = list(options.get("constraints", []))
        return cls(state.app_label, state.name, dict(state.fields), options, tuple(state.bases))

    @property
    def db_table(self) -> str:
        return db_table_for(self.app_label, self.name, self.options)

    @property
    def migrated(self) -> bool:
        """Does Django manage this model's table? Not for unmanaged, proxy or swapped models."""
        options = self.options
        if not options.get("managed", True) or options.get("proxy", False):
            return False
        swappable = options.get("swappable")
        if swappable:
            from django.conf import settings

            target = getattr(settings, swappable, None)
            return not target or str(target).lower() == f"{self.app_label}.{self.name}".lower()
        return True

    @property
    def indexes(self) -> list[Any]:
        return self.options["indexes"]

    @property
    def constraints(self) -> list[Any]:
        return self.options["constraints"]


def db_table_for(app_label: str, model_name: str, options: dict[str, Any]) -> str:
    if options.get("db_table"):
        return str(options["db_table"])
    return _default_db_table(app_label, model_name.lower())


@cache
def _default_db_table(app_label: str, model_name: str) -> str:
    from django.db.backends.utils import truncate_name

    return str(truncate_name(f"{app_label}_{model_name}", 63))


def column_for(name: str, field: Any) -> str:
    """The column Django gives a (possibly unbound) field called ``name``."""
    if getattr(field, "db_column", None):
        return str(field.db_column)
    if getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False):
        return f"{name}_id"
    return name


def model_with_column(state: ProjectState, table: str, column: str) -> str | None:
    """``Model.field`` of the state's field whose column is ``table.column``, if any."""
    for model in state.models.values():
        if db_table_for(model.app_label, model.name, model.options) != table:
            continue
        for name, candidate in model.fields.items():
            if column_for(name, candidate) == column and not candidate.many_to_many:
                return f"{model.name}.{name}"
    return None


@dataclass
class OperationStep:
    """One operation as the walk saw it.

    ``before``/``after`` snapshot the model the operation is about (None when
    it does not exist on that side). ``new_model`` is true when the model was
    created earlier in the same migration, where most lock concerns vanish.
    ``sql`` is filled when the caller asked for it (``check`` always does; it
    is empty, without rendering anything, for an operation that provably runs
    none); ``sql_error`` says why it could not be produced. ``reverse_sql`` is
    the reverse's SQL, generated on the same renderings by :meth:`make_reverse`
    when the caller asked the walk to keep it possible (``want_reverse``): the
    remedy planner needs both directions, but only for the operations it plans.
    """

    app_label: str
    migration_name: str
    index: int
    operation: Operation
    before: ModelSnapshot | None
    after: ModelSnapshot | None
    new_model: bool
    parent: OperationStep | None = None
    sql: list[str] | None = None
    sql_error: str | None = None
    reverse_sql: list[str] | None = None
    children: list[OperationStep] = field(default_factory=list)
    # SeparateDatabaseAndState only: the models its state_operations touch, before them
    state_models: dict[ModelKey, ModelSnapshot] = field(default_factory=dict)
    # want_reverse: makes reverse_sql on the renderings the forwards used (see make_reverse)
    pending_reverse: Callable[[], list[str] | None] | None = field(
        default=None, repr=False, compare=False
    )

    def make_reverse(self) -> None:
        """Fill ``reverse_sql`` now, when the walk kept it possible; once, then the
        renderings are let go. A reverse Django cannot write offline stays None."""
        if self.pending_reverse is not None:
            self.reverse_sql = self.pending_reverse()
            self.pending_reverse = None

    def drop_reverse(self) -> None:
        """Let go of the renderings kept for :meth:`make_reverse`: no reverse is wanted."""
        self.pending_reverse = None

    @property
    def kind(self) -> str:
        return type(self.operation).__name__

    @property
    def touches_database(self) -> bool:
        """False when Django runs no SQL for it: an operation on a model it does not
        migrate, or on a field that has no column.

        Django's model and field operations skip unmanaged, proxy and swapped
        models (``allow_migrate_model``), and its schema editor adds, alters and
        drops nothing for a field without a column of its own (a multi-column
        ``ForeignObject``, a custom field whose ``db_type`` is None); a custom
        operation may still act.
        """
        models = [m for m in (self.before, self.after) if m is not None]
        if not models or not is_django_operation(self.operation):
            return True
        return any(m.migrated for m in models) and not self._columnless_field()

    def _columnless_field(self) -> bool:
        """A field operation whose field has no column before or after (nor a table)."""
        from schemaops.columns import has_column

        op = self.operation
        if isinstance(op, dj_migrations.RenameField):
            name = op.old_name
        elif isinstance(
            op, dj_migrations.AddField | dj_migrations.AlterField | dj_migrations.RemoveField
        ):
            name = op.name
        else:
            return False
        before = self.before.fields.get(name) if self.before is not None else None
        fields = [f for f in (before, getattr(op, "field", None)) if f is not None]
        return bool(fields) and not any(
            has_column(f) or getattr(f, "many_to_many", False) for f in fields
        )

    @property
    def model_key(self) -> ModelKey | None:
        return primary_key_after(self.operation, self.app_label)


@dataclass
class MigrationStep:
    app_label: str
    name: str
    migration: Any  # django.db.migrations.Migration
    path: str | None
    operations: list[OperationStep] = field(default_factory=list)
    created_models: set[ModelKey] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str]:
        return (self.app_label, self.name)

    @property
    def atomic(self) -> bool:
        return bool(getattr(self.migration, "atomic", True))


def primary_key_before(op: Operation, app_label: str) -> ModelKey | None:
    if isinstance(op, dj_migrations.RenameModel):
        return (app_label, op.old_name_lower)
    return primary_key_after(op, app_label)


def primary_key_after(op: Operation, app_label: str) -> ModelKey | None:
    if isinstance(op, dj_migrations.RenameModel):
        return (app_label, op.new_name_lower)
    name = getattr(op, "model_name_lower", None)
    model_name = getattr(op, "model_name", None)
    if name is None and isinstance(model_name, str):
        name = model_name.lower()  # ValidateConstraint and the like: no model_name_lower
    if name is None and isinstance(op, dj_migrations.operations.models.ModelOperation):
        name = op.name_lower
    return (app_label, name) if name else None


class StateError(Exception):
    """An operation that cannot be applied to the project state it meets."""


@contextmanager
def _state_errors(index: int, op: Operation) -> Iterator[None]:
    """Errors of ``state_forwards`` (a model or field that does not exist) as a StateError."""
    try:
        yield
    except GraphError:
        raise
    except Exception as exc:
        what = type(op).__name__
        if isinstance(exc, LookupError) and exc.args:
            name = exc.args[0]
            name = ".".join(map(str, name)) if isinstance(name, tuple) else repr(name)
            problem = f"refers to {name}, which does not exist at that point"
        else:
            first = (str(exc).strip().splitlines() or [""])[0]
            problem = f"cannot be applied ({type(exc).__name__}: {first})"
        raise StateError(f"operation {index} ({what}) {problem}") from exc


def _migration_path(migration: Any) -> str | None:
    module = sys.modules.get(type(migration).__module__)
    return getattr(module, "__file__", None)


class Walker:
    """Walk the plan forward once; see the module docstring.

    ``want_sql(step)`` decides per operation whether to generate its SQL;
    ``want_reverse(step)`` whether its reverse's SQL may be asked for: the step then
    holds on to the two renderings its forwards used until the caller calls
    :meth:`OperationStep.make_reverse` or :meth:`OperationStep.drop_reverse` (a
    reverse costs as much as its forwards, and the planner reads few of them).
    ``pg_version`` is the server version number (150000 for 15) used by the
    offline connection, so version-dependent SQL matches the target server.
    """

    def __init__(
        self,
        loader: Any,
        *,
        pg_version: int = DEFAULT_PG_VERSION * 10000,
        want_sql: Callable[[OperationStep], bool] | None = None,
        want_reverse: Callable[[OperationStep], bool] | None = None,
    ) -> None:
        self.loader = loader
        self.want_sql = want_sql or (lambda step: False)
        self.want_reverse = want_reverse or (lambda step: False)
        self._sqlgen: _SQLGenerator | None = None
        self.state = ProjectState(real_apps=set(loader.unmigrated_apps))
        self._connection: Any = None
        self.pg_version = pg_version
        # what database-only operations did, for every migration walked so far
        self.facts = DatabaseFacts()
        self._rendered = 0  # models rendered for SQL since the last sweep
        self._plan: list[tuple[str, str]] | None = None

    # -- plan ----------------------------------------------------------------

    def full_plan(self) -> list[tuple[str, str]]:
        """Every migration of the graph, in the order the walk visits them."""
        if self._plan is None:
            self._plan = self._full_plan()
        return self._plan

    def _full_plan(self) -> list[tuple[str, str]]:
        graph = self.loader.graph
        plan: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        try:
            for leaf in sorted(graph.leaf_nodes()):
                for key in graph.forwards_plan(leaf):
                    if key not in seen:
                        seen.add(key)
                        plan.append(key)
        except Exception as exc:  # NodeNotFoundError, CircularDependencyError
            raise GraphError(f"broken migration graph: {exc}") from None
        return plan

    def walk(
        self, keep: Callable[[tuple[str, str]], bool] | None = None
    ) -> Iterator[MigrationStep]:
        """Yield a step for every migration in plan order that ``keep`` accepts.

        Every migration still advances the state, kept or not.
        """
        for key in self.full_plan():
            migration = self.loader.graph.nodes[key]
            wanted = keep is None or keep(key)
            step = MigrationStep(key[0], key[1], migration, _migration_path(migration))
            try:
                self._walk_migration(step, wanted)
            except StateError as exc:
                raise GraphError(f"broken migration graph: {key[0]}.{key[1]} {exc}") from None
            self.sweep(_SWEEP_AFTER_MIGRATION)
            if wanted:
                yield step

    def sweep(self, limit: int) -> None:
        """Free the models rendered for SQL once more than ``limit`` are pending."""
        if self._rendered > limit:
            sweep_young()
            self._rendered = 0

    def _walk_migration(self, step: MigrationStep, wanted: bool) -> None:
        migration = step.migration
        if not wanted:
            for index, op in enumerate(migration.operations):
                self.facts.record(step.app_label, op, self.state)
                self._forget(op, self.state)
                with _state_errors(index, op):
                    op.state_forwards(step.app_label, self.state)
                self._forget(op, self.state)
            return
        editor_ctx = (
            self.sql_generator
            if any(not isinstance(op, dj_migrations.RunPython) for op in migration.operations)
            else None
        )
        for index, op in enumerate(migration.operations):
            with _state_errors(index, op):
                op_step = self._walk_operation(step, index, op, self.state, None, editor_ctx)
            step.operations.append(op_step)
        if editor_ctx is not None:
            editor_ctx.flush_deferred()

    def _forget(self, op: Operation, state: ProjectState) -> None:
        """State moves without the SQL generator: drop renderings ``op`` may change."""
        if self._sqlgen is not None:
            self._sqlgen.forget(op, state)

    @property
    def sql_generator(self) -> _SQLGenerator:
        if self._sqlgen is None:
            self._sqlgen = _SQLGenerator(self)
        return self._sqlgen

    def _walk_operation(
        self,
        mstep: MigrationStep,
        index: int,
        op: Operation,
        state: ProjectState,
        parent: OperationStep | None,
        editor_ctx: _SQLGenerator | None,
    ) -> OperationStep:
        app_label = mstep.app_label
        key_before = primary_key_before(op, app_label)
        before = ModelSnapshot.of(state.models.get(key_before)) if key_before else None
        new_model = key_before in mstep.created_models if key_before else False
        step = OperationStep(app_label, mstep.name, index, op, before, None, new_model, parent)
        if parent is None:
            self.facts.record(app_label, op, state)
        if isinstance(op, dj_migrations.SeparateDatabaseAndState):
            self._walk_separate(mstep, step, op, state, editor_ctx)
        elif editor_ctx is not None and self.want_sql(step):
            if provably_no_sql(op, before):
                step.sql = []
                op.state_forwards(app_label, state)
            else:
                editor_ctx.forwards_with_sql(step, state)
        else:
            self._forget(op, state)
            op.state_forwards(app_label, state)
            self._forget(op, state)
        if isinstance(op, dj_migrations.CreateModel):
            mstep.created_models.add((app_label, op.name_lower))
        elif isinstance(op, dj_migrations.RenameModel) and new_model:
            mstep.created_models.add((app_label, op.new_name_lower))
        key_after = primary_key_after(op, app_label)
        step.after = ModelSnapshot.of(state.models.get(key_after)) if key_after else None
        return step

    def _walk_separate(
        self,
        mstep: MigrationStep,
        step: OperationStep,
        op: Any,
        state: ProjectState,
        editor_ctx: _SQLGenerator | None,
    ) -> None:
        """Database operations run on a copy of the state; state operations move it."""
        db_state = state.clone()
        for i, child in enumerate(op.database_operations):
            step.children.append(self._walk_operation(mstep, i, child, db_state, step, editor_ctx))
        for child in op.state_operations:
            key = primary_key_before(child, step.app_label)
            snapshot = ModelSnapshot.of(state.models.get(key)) if key else None
            if key and snapshot is not None:
                step.state_models.setdefault(key, snapshot)
            self._forget(child, state)
            child.state_forwards(step.app_label, state)
            self._forget(child, state)

    # -- offline connection --------------------------------------------------

    @property
    def connection(self) -> Any:
        if self._connection is None:
            self._connection = offline_connection(self.pg_version)
        return self._connection


def offline_connection(pg_version: int, alias: str = "default") -> Any:
    """A PostgreSQL DatabaseWrapper that generates SQL and refuses to connect.

    It carries the alias of the database the migrations are for, so database
    routers answer ``allow_migrate`` exactly as they would for ``migrate``.
    """
    from django.db.backends.postgresql.base import DatabaseWrapper

    settings_dict: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "schemaops_offline",
        "USER": "",
        "PASSWORD": "",
        "HOST": "",
        "PORT": "",
        "OPTIONS": {},
        "TIME_ZONE": None,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        "AUTOCOMMIT": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {},
    }
    conn = DatabaseWrapper(settings_dict, alias=alias)
    conn.pg_version = pg_version

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("offline: generating this SQL needs a live database")

    conn.ensure_connection = refuse  # type: ignore[method-assign]
    return conn


# models rendered (and left as garbage) before a long migration stops to free them,
# and before the end of a migration does: a few custom operations never pay for a sweep
_SWEEP_EVERY = 2000
_SWEEP_AFTER_MIGRATION = 200
# renderings kept for reuse (each a few models); the walk mostly reuses the last few
_RENDER_CACHE = 64

# Django operations whose database_forwards is empty: their SQL is provably nothing
_STATE_ONLY = (dj_migrations.AlterModelOptions, dj_migrations.AlterModelManagers)


def provably_no_sql(op: Operation, before: ModelSnapshot | None) -> bool:
    """Django runs no SQL for ``op``, and generating it would only render models.

    ``AlterModelOptions`` and ``AlterModelManagers`` change the state only;
    every other Django operation on a model Django does not migrate (unmanaged,
    proxy, swapped: ``allow_migrate_model`` is false) does nothing in the
    database either. A project's own operation may do anything: never skipped.
    """
    if not is_django_operation(op):
        return False
    if isinstance(op, _STATE_ONLY):
        return True
    if isinstance(op, dj_migrations.CreateModel):
        options = op.options
        return not options.get("managed", True) or bool(options.get("proxy", False))
    return before is not None and not before.migrated


class _SQLGenerator:
    """Django's SQL for each operation, offline, for the whole walk.

    One collecting schema editor serves every operation (Django's executor
    also runs a whole migration through one editor; its deferred statements
    are credited to the operation that queued them at the end of each
    migration). Each operation needs its models rendered before and after it;
    rendering is nearly all the cost, so renderings are kept, keyed by the
    models they hold, and reused while the walked state still has exactly the
    same model states, fields, options and bases (compared by identity:
    Django's state operations replace what they change, except the few that
    :meth:`forget` covers). The rendering after one operation is thus the
    rendering before the next one on the same model, across migrations.
    """

    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        self.editor = _collecting_editor(walker.connection)
        self.deferred_owner: dict[int, OperationStep] = {}
        # (frozenset(keys), lean) -> (the rendered keys, what they were made from, the same
        # but indexes and constraints, the rendering)
        self._cache: OrderedDict[
            _RenderKey, tuple[tuple[ModelKey, ...], list[Any], list[Any], ProjectState]
        ] = OrderedDict()
        self.hits = self.misses = 0

    def forwards_with_sql(self, step: OperationStep, state: ProjectState) -> None:
        op, app_label = step.operation, step.app_label
        if not op.reduces_to_sql:
            self.forget(op, state)
            op.state_forwards(app_label, state)
            self.forget(op, state)
            step.sql_error = "this operation runs Python code and cannot be written as SQL"
            return
        django_op = is_django_operation(op)
        if self.walker._rendered > _SWEEP_EVERY:  # a long run of renderings: free them
            self._cache.clear()
            self.walker.sweep(_SWEEP_EVERY)
        # a lean operation reads its own model only, and no relation of it (see lean_operation)
        lean = lean_operation(op, app_label, state)
        if lean:
            before_keys = {(app_label, op.model_name_lower)}  # type: ignore[attr-defined]
        else:
            before_keys = _touched_keys(op, app_label, state)
        # and one that reads no index or constraint of the model's Meta may be given a
        # rendering made before its last index or constraint change (see meta_blind)
        blind = lean and meta_blind(op, app_label, state, self.walker.connection)
        try:
            from_state = self._render(state, before_keys, reuse=django_op, lean=lean, blind=blind)
        except Exception as exc:  # pragma: no cover - defensive, state is the user's
            from_state, step.sql_error = None, f"cannot render models: {exc}"
        self.forget(op, state)
        op.state_forwards(app_label, state)
        self.forget(op, state)
        if from_state is None:
            return
        if lean:
            after_keys = before_keys  # the model stays; it is all the operation reads
        elif type(op) is dj_migrations.DeleteModel:
            # Django reads the state before only, both ways (the state after may even hold
            # a relation to the deleted model, which Django never renders again)
            after_keys = set()
        else:
            after_keys = _touched_keys(op, app_label, state) | (before_keys & set(state.models))
        collected = self.editor.collected_sql
        start, deferred_start = len(collected), len(self.editor.deferred_sql)
        to_state = None
        try:
            to_state = self._render(state, after_keys, reuse=django_op, lean=lean, blind=blind)
            with _no_database():
                op.database_forwards(app_label, self.editor, from_state, to_state)
        except Exception as exc:
            step.sql_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        step.sql = collected[start:]
        for statement in self.editor.deferred_sql[deferred_start:]:
            self.deferred_owner[id(statement)] = step
        if to_state is not None and step.sql_error is None and self.walker.want_reverse(step):
            step.pending_reverse = partial(self._backwards, op, app_label, to_state, from_state)

    def _backwards(
        self, op: Operation, app_label: str, after: ProjectState, before: ProjectState
    ) -> list[str] | None:
        """The reverse's SQL, on the renderings the forwards used (None: not generated)."""
        editor = type(self.editor)(self.walker.connection, collect_sql=True, atomic=False)
        editor.deferred_sql = []  # a fresh editor of the walk's own collecting class
        try:
            with _no_database():  # Django passes the state after, then the state before
                op.database_backwards(app_label, editor, after, before)
        except Exception:
            return None
        deferred = [str(s) for s in editor.deferred_sql]
        return [*editor.collected_sql, *(s if s.endswith(";") else s + ";" for s in deferred)]

    def forget(self, op: Operation, state: ProjectState) -> None:
        """Drop renderings ``op``'s state change may change in place; call it before and after.

        ``RenameField`` rewrites the ``to_field`` of the fields pointing at the
        renamed one in place (the only Django state operation that mutates
        instead of replacing); a project's own operation may mutate anything,
        in the state or in the models it was given.
        """
        if not is_django_operation(op) or (
            isinstance(op, dj_migrations.RenameField) and _to_field_users(state, op)
        ):
            self._cache.clear()

    def _render(
        self,
        state: ProjectState,
        keys: set[ModelKey],
        *,
        reuse: bool,
        lean: bool = False,
        blind: bool = False,
    ) -> ProjectState:
        """``keys``' models rendered from ``state``: kept, reused or made now.

        ``lean``: the operation reads no relation of these models (see
        :func:`lean_operation`), so their relations to models outside ``keys``
        are left out, and the models they point at are not rendered at all.
        A model that cannot be rendered lean (:func:`_lean_renderable`) is
        rendered in full; a full rendering serves a lean request as well.
        ``blind``: a rendering whose model states differ from ``state``'s only in
        their indexes and constraints serves (:meth:`_reusable`).
        """
        if lean:  # lean only where it leaves a relation out: else it is a full rendering
            models = [state.models[k] for k in keys if k in state.models]
            lean = all(map(_lean_renderable, models)) and any(
                len(_lean_fields(m, keys)) < len(m.fields) for m in models
            )
        key = (frozenset(keys), lean)
        found = self._reusable(key, state, blind) if reuse else None
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        sub = _substate(state, keys, lean=lean)
        self.walker._rendered += len(sub.models)
        if reuse:
            rendered = tuple(sorted(sub.models))
            self._cache[key] = (
                rendered,
                _sources(state, rendered),
                _sources(state, rendered, structure=True),
                sub,
            )
            if len(self._cache) > _RENDER_CACHE:
                self._cache.popitem(last=False)
        else:
            self._cache.pop(key, None)
        return sub

    def _reusable(
        self, key: _RenderKey, state: ProjectState, blind: bool = False
    ) -> ProjectState | None:
        """A kept rendering of ``key``'s models, or of more models, still made from ``state``.

        A rendering that holds more models in full than asked for serves as well
        (Django itself renders every model in full; a stand-in is only cheaper):
        after a ``RenameField`` rendered a model with its referrers, the next
        ``AddField`` on that model reuses it instead of rendering the model again.
        A full rendering serves a lean request; a lean one serves only lean ones.
        ``blind``: one made from model states that differ from ``state``'s in
        their indexes and constraints only serves too, as a state that pairs it
        with ``state``'s own model states (the operation reads those: the index
        ``RemoveIndex`` drops is found in them). Newest first: the walk mostly
        reuses the last few renderings.
        """
        cached = self._cache.get(key)
        if cached is not None and _same_sources(cached[0], cached[1], state):
            self._cache.move_to_end(key)
            return cached[3]
        keys, lean = key
        for held in reversed(self._cache):
            held_keys, held_lean = held
            if held != key and keys <= held_keys and (lean or not held_lean):
                rendered, sources, _, sub = self._cache[held]
                if _same_sources(rendered, sources, state):
                    self._cache.move_to_end(held)
                    return sub
        if not blind:
            return None
        for held in reversed(self._cache):
            held_keys, held_lean = held
            if keys <= held_keys and (lean or not held_lean):
                rendered, _, structure, sub = self._cache[held]
                if _same_sources(rendered, structure, state, structure=True):
                    self._cache.move_to_end(held)
                    return _with_model_states(sub, state, keys)
        return None

    def flush_deferred(self) -> None:
        """Deferred SQL (FKs, indexes of new tables) runs at the end; credit its operation."""
        for statement in self.editor.deferred_sql:
            owner = self.deferred_owner.get(id(statement))
            if owner is not None and owner.sql is not None:
                text = str(statement)
                owner.sql.append(text if text.endswith(";") else text + ";")
        self.editor.deferred_sql = []
        self.editor.collected_sql = []
        self.deferred_owner.clear()


def _to_field_users(state: ProjectState, op: Any) -> bool:
    """Does any field point at a field named like the one ``op`` renames, by ``to_field``?

    Those are the fields Django's ``RenameField`` state change edits in place.
    """
    name = op.old_name
    for model in state.models.values():
        for f in model.fields.values():
            remote = getattr(f, "remote_field", None)
            if remote is not None and (
                getattr(remote, "field_name", None) == name
                or name in (getattr(f, "to_fields", None) or ())
                or name in (getattr(f, "from_fields", None) or ())
            ):
                return True
    return False


def _sources(
    state: ProjectState, keys: tuple[ModelKey, ...], *, structure: bool = False
) -> list[Any]:
    """What a rendering of ``keys`` is made of, flat: each model state and its parts.

    ``structure``: all but the indexes and constraints (and the model state
    objects, which Django's ``AddIndex`` and the like keep, changing their options).
    """
    out: list[Any] = []
    for key in keys:
        model = state.models.get(key)
        out.append(model is not None if structure else model)
        if model is not None:
            for name, value in model.fields.items():
                out.append(name)
                out.append(value)
            for name, value in model.options.items():
                if structure and name in _META_PARTS:
                    continue
                out.append(name)
                out.append(value)
            out.append(model.bases)
            out.append(model.managers)
    return out


_META_PARTS = ("indexes", "constraints")


def _same_sources(
    keys: tuple[ModelKey, ...], sources: list[Any], state: ProjectState, *, structure: bool = False
) -> bool:
    """Does ``state`` still hold exactly (by identity) what ``sources`` recorded?"""
    now = _sources(state, keys, structure=structure)
    return len(now) == len(sources) and all(
        a is b or (type(a) is str and a == b) for a, b in zip(now, sources, strict=True)
    )


def _with_model_states(
    sub: ProjectState, state: ProjectState, keys: Iterable[ModelKey]
) -> ProjectState:
    """``sub``'s rendered models, with ``keys``' model states as ``state`` has them now."""
    models = dict(sub.models)
    for key in keys:
        models[key] = state.models[key].clone()
    view = ProjectState(models=models, real_apps=sub.real_apps)
    view.apps = sub.apps  # as Django's own ProjectState.clone hands over its rendering
    return view


def _collecting_editor(connection: Any) -> Any:
    """A schema editor that only collects SQL, quoting parameters client-side."""
    base = type(connection.schema_editor(collect_sql=True, atomic=False))

    class CollectingEditor(base):  # type: ignore[valid-type,misc]
        def execute(self, sql: Any, params: Any = ()) -> None:
            if params:
                sql = interpolate(str(sql), params)
            self.collected_sql.append(
                str(sql) + ("" if str(sql).rstrip().endswith(";") else self.sql_delimiter_tail)
            )

        sql_delimiter_tail = ";"

        def effective_default(self, field: Any) -> Any:
            try:
                return super().effective_default(field)
            except Exception:  # the user's callable default needs the database
                return UnknownDefault(field)

        def _constraint_names(
            self,
            model: Any,
            column_names: Any = None,
            unique: Any = None,
            primary_key: Any = None,
            index: Any = None,
            foreign_key: Any = None,
            check: Any = None,
            type_: Any = None,
            exclude: Any = None,
        ) -> list[str]:
            # Offline there is no catalog to ask; Django's own naming scheme is the
            # best guess of what the constraint is called.
            table = model._meta.db_table
            columns = list(column_names or [])
            suffix = (
                "_pk"
                if primary_key
                else "_fk"
                if foreign_key
                else "_uniq"
                if unique
                else "_check"
                if check
                else "_like"
                if type_ == "_like"
                else ""
            )
            if index and not type_ and not unique:
                # index_together's index (AlterIndexTogether, RenameIndex(old_fields)):
                # alter_index_together creates it with suffix "_idx"; a field's db_index
                # index (type_=Index.suffix) has none
                suffix = "_idx"
            if foreign_key:
                suffix = _foreign_key_suffix(model, columns) or suffix
            name = self._create_index_name(table, columns, suffix=suffix)
            return [] if exclude and name in exclude else [name]

    editor = CollectingEditor(connection, collect_sql=True, atomic=False)
    editor.deferred_sql = []
    return editor


def _foreign_key_suffix(model: Any, columns: list[str]) -> str | None:
    """``_fk_<to table>_<to column>``: the suffix Django names a foreign key constraint with
    (``BaseDatabaseSchemaEditor._fk_constraint_name``), for the model's key on ``columns``."""
    from django.db.backends.utils import split_identifier

    for f in model._meta.local_fields:
        if f.remote_field is not None and [f.column] == columns:
            target = f.target_field
            return f"_fk_{split_identifier(target.model._meta.db_table)[1]}_{target.column}"
    return None


@contextmanager
def _no_database() -> Iterator[None]:
    """Refuse every database connection while SQL is generated offline.

    Operation code may reach for the project's real connection (a callable
    default that queries, say); offline, that must fail fast, not wait on a
    server that may not exist.
    """
    from django.db.backends.base.base import BaseDatabaseWrapper

    original = BaseDatabaseWrapper.ensure_connection

    def refuse(self: Any) -> None:
        if self.connection is None:
            raise RuntimeError("offline: generating this SQL needs a live database")
        original(self)

    BaseDatabaseWrapper.ensure_connection = refuse  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseDatabaseWrapper.ensure_connection = original  # type: ignore[method-assign]


class UnknownDefault:
    """A default that only the running application could compute (a callable using the DB)."""

    def __init__(self, field: Any) -> None:
        self.source = getattr(field.default, "__qualname__", repr(field.default))


def interpolate(sql: str, params: Any) -> str:
    """``sql`` as the server receives it, the driver having quoted ``params`` in.

    ``params`` is a sequence (``%s``) or a mapping (``%(name)s``), as for
    ``cursor.execute``; ``%%`` becomes ``%``. SQL whose placeholders do not
    match its parameters comes back unchanged (the driver would refuse it).
    """
    try:
        if isinstance(params, dict):
            return sql % {key: _quote(value) for key, value in params.items()}
        return sql % tuple(_quote(value) for value in params)
    except (TypeError, ValueError, KeyError):
        return sql


def _quote(value: Any) -> str:
    """A parameter as an SQL literal, quoted by the driver Django uses, offline.

    Django prepares values for its driver (psycopg 3 wraps JSON in ``Jsonb``,
    psycopg 2 in ``Json``), so only that driver can quote them.
    """
    if isinstance(value, UnknownDefault):
        return f"NULL /* computed by {value.source}() at migrate time */"
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    if is_psycopg3:
        from psycopg import sql

        return str(sql.Literal(value).as_string(None))
    from psycopg2.extensions import adapt

    adapted = adapt(value)
    if hasattr(adapted, "encoding"):
        adapted.encoding = "utf8"
    quoted: bytes = adapted.getquoted()
    return quoted.decode()


# -- rendering only what an operation touches ---------------------------------

# Operations whose SQL also touches the models that point at this one.
_REVERSE_NEEDED = (
    dj_migrations.RenameModel,
    dj_migrations.AlterModelTable,
    dj_migrations.DeleteModel,
)
_FIELD_REVERSE_NEEDED = (
    dj_migrations.AlterField,
    dj_migrations.RenameField,
    dj_migrations.RemoveField,
)


def _needs_referrers(op: Operation, app_label: str, state: ProjectState) -> bool:
    """Related models matter when the table goes, or when a field others may point at changes."""
    if isinstance(op, _REVERSE_NEEDED):
        return True
    if isinstance(op, _FIELD_REVERSE_NEEDED):
        model = state.models.get((app_label, op.model_name_lower))
        name = op.old_name if isinstance(op, dj_migrations.RenameField) else op.name
        field = model.fields.get(name) if model else None
        return field is None or bool(
            getattr(field, "primary_key", False) or getattr(field, "unique", False)
        )
    return False


def sql_analysed(step: OperationStep) -> bool:
    """Is this Django operation judged by the statements it generates?

    The operation-level rules model what Django does to the operation's own
    table. A many-to-many field's changes run on its join table instead
    (re-pointing one renames the join table's column, changes its type and
    re-adds a validated foreign key), so those operations are read from the
    SQL Django generates for them, statement by statement, like a RunSQL.
    """
    op = step.operation
    if not isinstance(op, dj_migrations.AlterField) or step.before is None:
        return False
    old = step.before.fields.get(op.name)
    return bool(getattr(old, "many_to_many", False) and op.field.many_to_many)


def is_django_operation(op: Operation) -> bool:
    """One of Django's own operations (not a project's or a package's subclass)."""
    return type(op).__module__.startswith("django.")


def _touched_keys(op: Operation, app_label: str, state: ProjectState) -> set[ModelKey]:
    """The models an operation works on, rendered in full (with their relations)."""
    keys = {k for k in (primary_key_before(op, app_label), primary_key_after(op, app_label)) if k}
    if not keys:
        if is_django_operation(op):
            return set()  # RunSQL, CreateExtension, CreateCollation: about no model
        return set(state.models)  # a custom operation: it may look at any model
    roots = {k for k in keys if k in state.models}
    if _needs_referrers(op, app_label, state):
        for key in list(roots):
            roots |= set(state.relations.get(key, {}))
    # auto-created M2M through tables are rendered from their owner; explicit ones are models
    for key in list(roots):
        for f in state.models[key].fields.values():
            through = getattr(getattr(f, "remote_field", None), "through", None)
            if through is not None:
                roots.add(resolve_relation(through, key[0], key[1]))
    return {k for k in roots if k in state.models}


def _references(model_state: ModelState) -> Iterator[ModelKey]:
    app_label, name = model_state.app_label, model_state.name_lower
    for f in model_state.fields.values():
        remote = getattr(f, "remote_field", None)
        if remote is None:
            continue
        for target in (remote.model, getattr(remote, "through", None)):
            if target is not None:
                yield resolve_relation(target, app_label, name)
    yield from _base_keys(model_state)


def _base_keys(model_state: ModelState) -> Iterator[ModelKey]:
    app_label, name = model_state.app_label, model_state.name_lower
    for base in model_state.bases:
        if isinstance(base, str):
            base_app, base_model = resolve_relation(base, app_label, name)
            yield (base_app, base_model or name)
        elif hasattr(base, "_meta") and not base._meta.abstract:
            yield (base._meta.app_label, str(base._meta.model_name))


def _stripped(model_state: ModelState) -> ModelState:
    """A referenced model's shape without its own relations (what Django does for real apps).

    Rendering a model needs every model it points at, transitively; a model
    that is only a *target* needs just its table and primary key. Keeping
    relations only where they are the primary key (multi-table inheritance)
    stops the closure after one hop.
    """
    clone = model_state.clone()
    clone.fields = {
        name: f
        for name, f in clone.fields.items()
        if getattr(f, "remote_field", None) is None or getattr(f, "primary_key", False)
    }
    for option in ("indexes", "constraints"):
        clone.options[option] = []
    for option in ("unique_together", "index_together", "order_with_respect_to", "ordering"):
        clone.options.pop(option, None)
    return clone


def _trim_targets(models: dict[ModelKey, ModelState], stand_ins: set[ModelKey]) -> None:
    """Cut a stand-in that is only the target of relations down to what a relation reads.

    A foreign key or many-to-many field needs its target's table, primary key
    and ``to_field``: nothing else of the target is rendered for it (a large
    target model, a user model say, costs as much to render as the model the
    operation is about). A stand-in that is a parent (multi-table inheritance)
    keeps its fields: its children inherit them.
    """
    parents = {k for m in models.values() for k in _base_keys(m)}
    to_fields: dict[ModelKey, set[str]] = {}
    for m in models.values():
        for f in m.fields.values():
            remote = getattr(f, "remote_field", None)
            if remote is None:
                continue
            key = resolve_relation(remote.model, m.app_label, m.name_lower)
            names = (getattr(remote, "field_name", None), *(getattr(f, "to_fields", None) or ()))
            to_fields.setdefault(key, set()).update(n for n in names if n)
    for key in stand_ins - parents:
        model, wanted = models[key], to_fields.get(key, set())
        model.fields = {
            name: f
            for name, f in model.fields.items()
            if getattr(f, "primary_key", False) or name in wanted
        }


def _substate(state: ProjectState, keys: set[ModelKey], *, lean: bool = False) -> ProjectState:
    """Render ``keys`` in full and what they reference as stripped stand-ins.

    ``lean``: ``keys`` keep only the relations :func:`_lean_fields` keeps.
    """
    models: dict[ModelKey, ModelState] = {
        k: _CopyingModelState.of(state.models[k]) for k in keys if k in state.models
    }
    if lean:
        for model in models.values():
            model.fields = _lean_fields(model, keys)
    todo = [ref for m in models.values() for ref in _references(m)]
    while todo:
        key = todo.pop()
        if key in models or key not in state.models:
            continue
        models[key] = stand_in = _CopyingModelState.of(_stripped(state.models[key]))
        todo.extend(_references(stand_in))
    _trim_targets(models, set(models) - keys)
    if len(models) > 1:  # in the project's order: Django walks the related objects in it
        models = {k: models[k] for k in state.models if k in models}
    needed_real = {k[0] for m in models.values() for k in _references(m)} & state.real_apps
    sub = ProjectState(models=models, real_apps=needed_real)
    sub.apps  # render now, so errors surface here  # noqa: B018
    return sub


class _CopyingModelState(ModelState):
    """A model state that renders its plain fields from copies instead of clones.

    Django renders a model from a ``clone()`` of each field: ``deconstruct()``
    and ``__init__`` again, a third of a rendering's cost. For Django's own
    plain field classes (no relation, no inner field, nothing ``__init__``
    builds that binding to a model changes, a ``deconstruct()`` that gives
    ``__init__`` back what it was given), a copy of a never-bound field's
    attributes is that clone: the same attributes with the same values. Each
    copy takes the next creation counter when Django asks for its clone, as the
    clone would, so the columns keep their order.
    """

    @classmethod
    def of(cls, model: ModelState) -> _CopyingModelState:
        clone = model.clone()
        clone.__class__ = cls
        return clone  # type: ignore[return-value]

    def render(self, apps: Any) -> Any:
        fields = self.fields
        copies: dict[str, Any] = {
            name: _FieldCopy(f) if type(f) in _copyable_fields() and "model" not in vars(f) else f
            for name, f in fields.items()
        }
        self.fields = copies
        try:
            return super().render(apps)
        finally:
            self.fields = fields


class _FieldCopy:
    """Stands for a field in ``ModelState.render``, which only asks it for a clone."""

    __slots__ = ("field",)

    def __init__(self, field: Any) -> None:
        self.field = field

    def clone(self) -> Any:
        new = copy.copy(self.field)  # Field.__copy__: the attributes, shallow
        attrs = vars(new)
        attrs["name"] = None  # clone() passes no name: binding sets name, column, label
        attrs["verbose_name"] = attrs["_verbose_name"]
        for bound in ("attname", "column", "concrete"):
            attrs.pop(bound, None)
        attrs["creation_counter"] = Field.creation_counter
        Field.creation_counter += 1
        return new


@cache
def _copyable_fields() -> frozenset[type]:
    """The field classes :class:`_FieldCopy` copies (exactly these, not subclasses).

    Each is compared with its clone in ``tests/test_plan.py``; not the auto
    fields: their ``deconstruct()`` makes every clone a primary key.
    """
    from django.db import models

    return frozenset(
        (
            models.IntegerField,
            models.BigIntegerField,
            models.SmallIntegerField,
            models.PositiveIntegerField,
            models.PositiveBigIntegerField,
            models.PositiveSmallIntegerField,
            models.BooleanField,
            models.CharField,
            models.TextField,
            models.SlugField,
            models.EmailField,
            models.URLField,
            models.DateField,
            models.DateTimeField,
            models.TimeField,
            models.DurationField,
            models.DecimalField,
            models.FloatField,
            models.UUIDField,
            models.BinaryField,
            models.GenericIPAddressField,
            models.JSONField,
        )
    )


# -- lean renderings: an operation that reads no relation of its model -------------

# Operations whose SQL reads their model's table, its own fields and (by name only)
# its indexes and constraints: never a relation, unless named (see lean_operation)
_LEAN_FIELD_OPS = (
    dj_migrations.AddField,
    dj_migrations.AlterField,
    dj_migrations.RemoveField,
    dj_migrations.RenameField,
)
_LEAN_INDEX_OPS = (
    dj_migrations.AddIndex,
    dj_migrations.RemoveIndex,
    dj_migrations.RenameIndex,
    dj_migrations.AddConstraint,
    dj_migrations.RemoveConstraint,
)
# relation fields a lean rendering may leave out: Django's own, one column or a join table
_PLAIN_RELATIONS = ("ForeignKey", "OneToOneField", "ManyToManyField")


@cache
def _lean_types() -> frozenset[type]:
    from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently

    return frozenset(
        (*_LEAN_FIELD_OPS, *_LEAN_INDEX_OPS, AddIndexConcurrently, RemoveIndexConcurrently)
    )


def lean_operation(op: Operation, app_label: str, state: ProjectState) -> bool:
    """Does ``op``'s SQL provably read no relation field of its model, nor another model?

    Django's field operations on a plain column (not a relation, not a primary
    key, not unique, not generated: nothing points at it and it points at
    nothing) and its index and constraint operations on plain columns (no
    expression, no condition, no check: those compile against the model and may
    cross a relation) read their model's table, the fields they name, and the
    names of the model's indexes and constraints. Rendering the model without
    the relations they do not name gives exactly the SQL a full rendering gives
    (``tests/test_plan_matches_django.py`` compares every operation of three
    corpora with Django's own rendering), and spares rendering a stand-in for
    every model those relations point at.
    """
    if type(op) not in _lean_types():
        return False
    model = state.models.get((app_label, op.model_name_lower))  # type: ignore[attr-defined]
    if model is None:
        return False
    if isinstance(op, _LEAN_FIELD_OPS):
        name = op.old_name if isinstance(op, dj_migrations.RenameField) else op.name
        before = None if isinstance(op, dj_migrations.AddField) else model.fields.get(name)
        after = (
            op.field if isinstance(op, dj_migrations.AddField | dj_migrations.AlterField) else None
        )
        fields = [f for f in (before, after) if f is not None]
        return len(fields) == (2 if isinstance(op, dj_migrations.AlterField) else 1) and all(
            map(_plain_column, fields)
        )
    try:
        named = _named_by(op, model)
    except ValueError:  # no index or constraint of that name: Django will say so
        return False
    return named is not None and not any(
        getattr(model.fields.get(n), "remote_field", None) is not None for n in named
    )


def meta_blind(op: Operation, app_label: str, state: ProjectState, connection: Any) -> bool:
    """Does a lean ``op`` read nothing of its model's Meta indexes and constraints, both ways?

    Index and constraint operations are given the index or constraint they add
    and find the one they drop in the model *state*; ``add_field`` and
    ``remove_field`` read no Meta. ``alter_field`` reads the names of Meta's
    indexes when it drops a ``db_index`` index, and of its constraints when a
    unique or a check constraint of the column changes: a plain column (not
    unique) with neither an index nor a type check (``PositiveIntegerField``'s)
    on either side has none to drop.
    """
    if not isinstance(op, dj_migrations.AlterField | dj_migrations.RenameField):
        return True
    model = state.models[app_label, op.model_name_lower]
    name = op.old_name if isinstance(op, dj_migrations.RenameField) else op.name
    fields = [model.fields[name], *([op.field] if isinstance(op, dj_migrations.AlterField) else [])]
    checks = connection.data_type_check_constraints
    return all(
        not f.db_index
        and type(f).db_check is Field.db_check
        and f.get_internal_type() not in checks
        for f in fields
    )


def _plain_column(f: Any) -> bool:
    return (
        getattr(f, "remote_field", None) is None
        and not f.primary_key
        and not f.unique
        and not getattr(f, "generated", False)
        and type(f).__module__.startswith("django.")
    )


def _named_by(op: Any, model: ModelState) -> set[str] | None:
    """The fields an index or constraint operation names; None: it may read any field."""
    if isinstance(op, dj_migrations.RenameIndex):
        if op.old_fields:
            return set(op.old_fields)
        return _parts_named(model.get_index_by_name(op.old_name or ""))
    if isinstance(op, dj_migrations.AddIndex):
        return _parts_named(op.index)
    if isinstance(op, dj_migrations.RemoveIndex):
        return _parts_named(model.get_index_by_name(op.name))
    if isinstance(op, dj_migrations.AddConstraint):
        return _parts_named(op.constraint)
    return _parts_named(model.get_constraint_by_name(op.name))


def _parts_named(part: Any) -> set[str] | None:
    """The fields a plain index or unique constraint names; None for any other."""
    from django.db.models import Index, UniqueConstraint

    if type(part) is not Index and type(part) is not UniqueConstraint:
        return None
    if part.expressions or part.condition is not None:
        return None
    return {f.lstrip("-") for f in part.fields} | set(getattr(part, "include", None) or ())


def _lean_renderable(model: ModelState) -> bool:
    """Can ``model`` render without its relations, and still be the same model otherwise?

    Every field is Django's own (a project's field class might read its model's
    other fields), no field is generated (its expression may cross a relation),
    every relation is a plain one, and every index and constraint is plain
    (:func:`_parts_named`: its fields are known by name, and kept).
    """
    for f in model.fields.values():
        if not type(f).__module__.startswith("django.") or getattr(f, "generated", False):
            return False
        if f.remote_field is not None and type(f).__name__ not in _PLAIN_RELATIONS:
            return False
    parts = [*model.options.get("indexes", ()), *model.options.get("constraints", ())]
    return all(_parts_named(part) is not None for part in parts)


def _lean_fields(model: ModelState, keys: set[ModelKey]) -> dict[str, Any]:
    """``model``'s fields but its relations to models outside ``keys``.

    A relation stays when it is the primary key or a parent link (multi-table
    inheritance: the parent is rendered), when ``keys`` hold its target, or when
    the model's indexes, constraints, ``unique_together``, ``index_together`` or
    ``order_with_respect_to`` name it.
    """
    named: set[str] = set()
    for part in (*model.options.get("indexes", ()), *model.options.get("constraints", ())):
        named |= _parts_named(part) or set()
    for option in ("unique_together", "index_together"):
        for group in model.options.get(option) or ():
            named.update(group)
    if model.options.get("order_with_respect_to"):
        named.add(model.options["order_with_respect_to"])
    own = (model.app_label, model.name_lower)
    return {
        name: f
        for name, f in model.fields.items()
        if f.remote_field is None
        or f.primary_key
        or getattr(f.remote_field, "parent_link", False)
        or name in named
        or resolve_relation(f.remote_field.model, *own) in keys
    }


def operation_sql(
    op: Operation, app_label: str, state: ProjectState, pg_version: int
) -> tuple[list[str], list[str]]:
    """The statements Django runs for ``op``, and for its reverse, offline.

    ``state`` is the project state before the operation; it is not changed.
    Deferred statements (indexes and foreign keys of new tables) come last,
    as Django runs them at the end of the migration. Raises what the
    schema editor raises when the SQL cannot be generated.
    """
    after = state.clone()
    op.state_forwards(app_label, after)
    keys = _touched_keys(op, app_label, state) | _touched_keys(op, app_label, after)
    before_rendered, after_rendered = _substate(state, keys), _substate(after, keys)
    connection = offline_connection(pg_version)
    out = []
    for backwards in (False, True):
        editor = _collecting_editor(connection)
        with _no_database():
            if backwards:  # Django passes the state after, then the state before
                op.database_backwards(app_label, editor, after_rendered, before_rendered)
            else:
                op.database_forwards(app_label, editor, before_rendered, after_rendered)
        deferred = [str(s) for s in editor.deferred_sql]
        out.append([*editor.collected_sql, *(s if s.endswith(";") else s + ";" for s in deferred)])
    return out[0], out[1]


def django_index_name(table: str, columns: list[str], suffix: str = "") -> str:
    """The name Django's schema editor gives an index of ``table`` on ``columns`` (offline)."""
    editor = offline_connection(150000).schema_editor(collect_sql=True, atomic=False)
    return str(editor._create_index_name(table, columns, suffix=suffix))
