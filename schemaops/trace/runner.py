"""``schemaops trace`` as a library: scratch database, state before, traced migrations.

:func:`run_trace` creates a scratch database on the target server, brings it
to the state just before the migrations under test (applying the earlier
migrations with Django's executor, or cloning the target's schema with
``from_database``), optionally seeds the touched tables, then applies each
migration under test with a :class:`~schemaops.trace.tracer.StatementRecorder`
installed. An atomic migration is rolled back when nothing later needs it and
committed otherwise (the scratch database is dropped at the end either way);
a non-atomic one is applied. The Django alias is pointed at the scratch
database for the duration, so ``RunPython`` code that uses the default
manager writes there too, never to the target.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from schemaops.trace.scratch import ScratchDatabase, clone_schema
from schemaops.trace.tracer import MigrationTrace, StatementRecorder, attributing, first_line

Progress = Callable[[str], None]


@dataclass
class TraceResult:
    migrations: list[MigrationTrace] = field(default_factory=list)
    server: str = ""
    rows: int = 0
    notes: list[str] = field(default_factory=list)
    seeded: dict[str, int] = field(default_factory=dict)  # rows each table really received
    # with --stats: the blocking steps' estimated durations on the snapshot's tables
    estimates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(m.error for m in self.migrations)

    def find(self, app: str, name: str) -> MigrationTrace | None:
        return next((m for m in self.migrations if m.key == (app, name)), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "server": self.server,
            "rows": self.rows,
            "seeded": self.seeded,
            "notes": self.notes,
            "migrations": [m.to_dict() for m in self.migrations],
            **({"estimates": self.estimates} if self.estimates else {}),
        }


class _RollBack(Exception):
    def __init__(self, state: Any) -> None:
        self.state = state


@dataclass
class TraceOptions:
    alias: str = "default"
    server: dict[str, Any] | None = None  # libpq params of the server; None = the alias's
    from_database: bool = False
    rows: int = 0
    pin: bool = True


def run_trace(
    selected: set[tuple[str, str]], options: TraceOptions, progress: Progress | None = None
) -> TraceResult:
    """Trace ``selected`` migrations on a scratch database; see the module docstring."""
    from schemaops.db import describe, django_params

    say = progress or (lambda message: None)
    target = django_params(options.alias)
    server = options.server or target
    result = TraceResult(server=describe(server), rows=options.rows)
    with ScratchDatabase(server) as scratch:
        say(f"scratch database {scratch.name} on {describe(server)}")
        for name in scratch.swept:
            say(f"dropped {name}, left behind by a schemaops run that no longer exists")
        if options.from_database:
            clone_schema(
                {**server, "dbname": server.get("dbname") or target.get("dbname")}, scratch.params
            )
        with pointed_at(options.alias, scratch.params) as connection:
            _trace_plan(connection, scratch.params, selected, options, result, say)
    return result


@contextmanager
def pointed_at(alias: str, params: dict[str, Any]) -> Iterator[Any]:
    """Point Django's ``alias`` at another database (like the test runner), then restore."""
    from django.db import connections

    connection = connections[alias]
    keys = {"dbname": "NAME", "host": "HOST", "port": "PORT", "user": "USER"}
    keys["password"] = "PASSWORD"
    saved = dict(connection.settings_dict)
    connection.close()
    for key, setting in keys.items():
        if key in params:
            connection.settings_dict[setting] = params[key]
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def _trace_plan(
    connection: Any,
    params: dict[str, Any],
    selected: set[tuple[str, str]],
    options: TraceOptions,
    result: TraceResult,
    say: Progress,
) -> None:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.recorder.ensure_schema()
    applied = set(executor.loader.applied_migrations)
    for key in sorted(selected & applied):
        result.notes.append(f"{key[0]}.{key[1]} is already applied on the target; not traced")
    wanted = sorted(selected - applied)
    plan = forwards_plan(executor, wanted, applied)
    state: Any = None
    seeded: set[str] = set()
    for index, (migration, _backwards) in enumerate(plan):
        key = (migration.app_label, migration.name)
        if key not in selected:
            say(f"applying {key[0]}.{key[1]} (state before)")
            state = executor.migrate([key], plan=[(migration, False)], state=state)
            continue
        if options.rows:
            _seed(params, executor, migration, seeded, state, options.rows, result, say)
        say(f"tracing {key[0]}.{key[1]}")
        last = index == len(plan) - 1
        trace, state = _trace_one(executor, migration, params, state, last, options.pin)
        result.migrations.append(trace)
        if trace.error:
            break


def forwards_plan(
    executor: Any, targets: list[tuple[str, str]], applied: set[tuple[str, str]]
) -> list[tuple[Any, bool]]:
    """Every migration the targets need, once each, in dependency order.

    Not ``executor.migration_plan(targets)``: given a target an earlier target
    already passed (``0002_x`` after ``0002_x_1_expand``), Django plans steps back
    and then the same migrations forwards again.
    """
    graph = executor.loader.graph
    seen = set(applied)
    plan = []
    for target in targets:
        for key in graph.forwards_plan(target):
            if key not in seen:
                seen.add(key)
                plan.append((graph.nodes[key], False))
    return plan


def _trace_one(
    executor: Any, migration: Any, params: dict[str, Any], state: Any, last: bool, pin: bool
) -> tuple[MigrationTrace, Any]:
    from django.db import transaction

    connection = executor.connection
    key = (migration.app_label, migration.name)
    atomic = bool(getattr(migration, "atomic", True))
    trace = MigrationTrace(key[0], key[1], atomic)
    recorder = StatementRecorder(connection, params, pin=pin)
    recorder.start()
    started = time.perf_counter()
    try:
        with connection.execute_wrapper(recorder), attributing(migration, recorder):
            if atomic and last:
                with transaction.atomic(using=connection.alias):
                    raise _RollBack(executor.migrate([key], plan=[(migration, False)], state=state))
            state = executor.migrate([key], plan=[(migration, False)], state=state)
            trace.outcome = "committed" if atomic else "applied (non-atomic)"
    except _RollBack as done:
        state = done.state
    except Exception as exc:
        trace.outcome, trace.error = "failed", first_line(exc)
    trace.duration_ms = (time.perf_counter() - started) * 1000
    trace.statements = recorder.statements
    return trace, state


def _seed(
    params: dict[str, Any],
    executor: Any,
    migration: Any,
    seeded: set[str],
    state: Any,
    rows: int,
    result: TraceResult,
    say: Progress,
) -> None:
    """Seed the tables ``migration`` touches that exist and were not seeded yet."""
    from schemaops.db import connect
    from schemaops.trace.seed import seed, touched_tables

    if state is None:
        state = executor.loader.project_state(list(executor.loader.applied_migrations))
    tables = touched_tables([migration], state) - seeded
    if not tables:
        return
    seeded.update(tables)
    say(f"seeding {rows} row(s) into {', '.join(sorted(tables))}")
    conn = connect(params)
    try:
        seeding = seed(conn, tables, rows)
    finally:
        conn.close()
    seeded.update(seeding.seeded)  # parents seeded on the way are not seeded twice
    result.seeded.update(seeding.seeded)
    result.notes.extend(seeding.notes)
