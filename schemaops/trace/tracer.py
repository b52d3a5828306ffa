"""Record what every statement of a migration did: locks, rewrites, catalog changes, time.

:class:`StatementRecorder` is a Django ``execute_wrapper``. Around each
statement the migration executes it reads the locks its own backend holds
(``pg_locks``) and snapshots the catalog (:mod:`schemaops.trace.snapshot`):

* inside a transaction (an atomic migration), it reads them on the same
  connection right after the statement, before the locks are released;
* outside one (a non-atomic migration), it wraps the statement in its own
  ``BEGIN``/``COMMIT`` so the locks can be read before ``COMMIT``;
* when PostgreSQL refuses that (SQLSTATE 25001: ``CONCURRENTLY``, ``VACUUM``),
  it runs the statement in autocommit and a :class:`LockSampler` watches the
  backend's locks from a second connection while it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from schemaops.locks import Lock
from schemaops.trace import snapshot
from schemaops.trace.sampler import LockSampler
from schemaops.trace.snapshot import Changes, Snapshot

ACTIVE_SQL_TRANSACTION = "25001"
_BOOKKEEPING = ("django_migrations",)


@dataclass
class LockTaken:
    """One relation lock a statement acquired (not already held before it)."""

    relation: str
    kind: str  # table, index, sequence
    mode: str  # pg_locks name, e.g. AccessExclusiveLock
    preexisting: bool  # the relation existed before the migration started

    @property
    def lock(self) -> Lock | None:
        return Lock.from_mode(self.mode)

    @property
    def label(self) -> str:
        lock = self.lock
        return lock.value if lock else self.mode

    @property
    def blocks(self) -> str:
        lock = self.lock
        return lock.blocks if lock else "?"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lock": self.label, "blocks": self.blocks}


@dataclass
class StatementTrace:
    sql: str
    operation: int | None
    duration_ms: float
    locks: list[LockTaken] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)
    in_transaction: bool = True
    sampled: bool = False  # locks seen by polling from a second connection
    error: str | None = None
    held: list[LockTaken] = field(default_factory=list)  # every lock held after it (in a tx)

    @property
    def rewrites(self) -> list[str]:
        return self.changes.rewritten

    def strongest_on(self, relation: str, *, held: bool = False) -> Lock | None:
        """The strongest lock on ``relation`` this statement took (or held, with ``held``)."""
        pool = self.held if held else self.locks
        modes = [lk.lock for lk in pool if lk.relation == relation and lk.lock]
        return max(modes, key=lambda m: m.strength) if modes else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sql": self.sql,
            "operation": self.operation,
            "duration_ms": round(self.duration_ms, 3),
            "locks": [lk.to_dict() for lk in self.locks],
            "rewrites": self.rewrites,
            "created": self.changes.created,
            "dropped": self.changes.dropped,
            "columns": self.changes.columns,
            "constraints": self.changes.constraints,
            "in_transaction": self.in_transaction,
            "sampled": self.sampled,
            "error": self.error,
        }


@dataclass
class MigrationTrace:
    app: str
    name: str
    atomic: bool
    statements: list[StatementTrace] = field(default_factory=list)
    duration_ms: float = 0.0
    outcome: str = "rolled back"  # "committed", "applied (non-atomic)", "failed"
    error: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "migration": self.name,
            "atomic": self.atomic,
            "outcome": self.outcome,
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
            "statements": [s.to_dict() for s in self.statements],
        }


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a psycopg 2/3 error, also when Django wrapped it."""
    for err in (exc, exc.__cause__):
        code = getattr(err, "pgcode", None) or getattr(err, "sqlstate", None)
        if code:
            return str(code)
    return None


TRANSACTION_INERROR = 3  # libpq PQTRANS_INERROR, the same in psycopg 2 and 3


def transaction_failed(connection: Any) -> bool:
    """True when the Django connection's transaction is aborted (queries would fail)."""
    raw = connection.connection
    return raw is not None and int(raw.info.transaction_status) == TRANSACTION_INERROR


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


class StatementRecorder:
    """The execute_wrapper; see the module docstring. One per traced migration."""

    def __init__(self, connection: Any, params: dict[str, Any], *, pin: bool = True) -> None:
        self.connection = connection  # Django DatabaseWrapper
        self.params = params  # libpq params of the same database, for the sampler
        self.pin = pin
        self.statements: list[StatementTrace] = []
        self.operation: int | None = None
        self.deferred: dict[str, int] = {}
        self.preexisting: frozenset[int] = frozenset()  # relation oids before the migration
        self.catalog = Snapshot()
        self._pid: int | None = None
        self._scope: set[int] | None = None  # the oids the last snapshot re-read

    def start(self) -> None:
        """Snapshot the catalog before the migration's first statement."""
        with self._raw_cursor() as cur:
            self.catalog = snapshot.take(cur)  # updated in place, statement by statement
            self.preexisting = frozenset(self.catalog.relations)
            self._pid = snapshot.backend_pid(cur)

    @contextmanager
    def _raw_cursor(self) -> Iterator[Any]:
        self.connection.ensure_connection()
        cur = self.connection.connection.cursor()  # bypasses the execute wrappers
        try:
            yield cur
        finally:
            cur.close()

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any):
        text = self._compose(sql, params)
        operation = self.operation if self.operation is not None else self.deferred.get(sql)
        if not self.connection.get_autocommit():
            return self._in_transaction(execute, (sql, params, many, ctx), text, operation)
        return self._own_transaction(execute, (sql, params, many, ctx), text, operation)

    def _compose(self, sql: str, params: Any) -> str:
        if not params:
            return sql
        try:
            return str(self.connection.ops.compose_sql(sql, params))
        except Exception:  # display only
            return f"{sql} -- params {params!r}"

    def _in_transaction(self, execute: Callable[..., Any], args: tuple, text: str, op: int | None):
        if transaction_failed(self.connection):
            return execute(*args)  # ROLLBACK TO SAVEPOINT after an error: nothing to read
        with self._raw_cursor() as cur:
            before = snapshot.own_locks(cur)
        started = time.perf_counter()
        try:
            result = execute(*args)
        except Exception as exc:
            self._failed(text, op, started, exc)
            raise
        elapsed = (time.perf_counter() - started) * 1000
        with self._raw_cursor() as cur:
            after = snapshot.own_locks(cur)
            self._record(text, op, elapsed, after - before, self._snapshot(cur, after), True, False)
        if self.statements and self.statements[-1].sql == text:
            self.statements[-1].held = self._named_locks(after, self.catalog)
        return result

    def _own_transaction(self, execute: Callable[..., Any], args: tuple, text: str, op: int | None):
        with self._raw_cursor() as cur:
            cur.execute("BEGIN")
        started = time.perf_counter()
        try:
            result = execute(*args)
        except Exception as exc:
            with self._raw_cursor() as cur:
                cur.execute("ROLLBACK")
            if sqlstate(exc) == ACTIVE_SQL_TRANSACTION:
                return self._sampled(execute, args, text, op)
            self._failed(text, op, started, exc)
            raise
        elapsed = (time.perf_counter() - started) * 1000
        with self._raw_cursor() as cur:
            locks = snapshot.own_locks(cur)
            snap = self._snapshot(cur, locks)
            cur.execute("COMMIT")
        self._record(text, op, elapsed, locks, snap, False, False)
        return result

    def _sampled(self, execute: Callable[..., Any], args: tuple, text: str, op: int | None):
        assert self._pid is not None
        with LockSampler(self.params, self._pid, pin_snapshot=self.pin) as sampler:
            started = time.perf_counter()
            try:
                result = execute(*args)
            except Exception as exc:
                self._failed(text, op, started, exc)
                raise
            elapsed = (time.perf_counter() - started) * 1000
        with self._raw_cursor() as cur:  # sampling may miss a relation: read everything
            self._scope = None
            self._record(text, op, elapsed, sampler.seen, snapshot.take(cur), False, True)
        return result

    def _snapshot(self, cur: Any, locks: set[tuple[int, str]]) -> Snapshot:
        """The catalog after a statement: re-read only the relations the transaction locks."""
        oids = {oid for oid, _ in locks}
        self._scope = oids
        return snapshot.take(cur, oids)

    def _failed(self, text: str, op: int | None, started: float, exc: Exception) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        self.statements.append(StatementTrace(text, op, elapsed, error=first_line(exc)))

    def _record(
        self,
        text: str,
        op: int | None,
        elapsed: float,
        locks: set[tuple[int, str]],
        snap: Snapshot,
        in_transaction: bool,
        sampled: bool,
    ) -> None:
        scope = self._scope
        before = self.catalog if scope is None else self.catalog.restrict(scope)
        changes = snapshot.diff(before, snap)
        taken = self._named_locks(locks, snap)
        if scope is None:
            self.catalog = snap
        else:
            self.catalog.replace(snap, scope)
        bookkeeping = all(lk.relation.startswith(_BOOKKEEPING) for lk in taken)
        if (not taken or bookkeeping) and changes.empty:
            return  # introspection, SET, the django_migrations row: not news
        self.statements.append(
            StatementTrace(text, op, elapsed, taken, changes, in_transaction, sampled)
        )

    def _named_locks(self, locks: set[tuple[int, str]], snap: Snapshot) -> list[LockTaken]:
        out = []
        for oid, mode in sorted(locks, key=lambda x: (x[0], x[1])):
            # named as before the statement (a renamed table keeps the name users know)
            rel = self.catalog.relations.get(oid) or snap.relations.get(oid)
            if rel is None:
                continue  # a system catalog
            out.append(LockTaken(rel.label, rel.kind, mode, oid in self.preexisting))
        out.sort(key=lambda lk: (lk.kind != "table", lk.relation, lk.mode))
        return out


@contextmanager
def attributing(migration: Any, recorder: StatementRecorder) -> Iterator[None]:
    """Tell the recorder which operation (0-based) is running, deferred SQL included."""
    wrapped = []
    for index, operation in enumerate(migration.operations):
        original = operation.database_forwards

        def forwards(app_label: str, editor: Any, old: Any, new: Any, *, _i=index, _f=original):
            recorder.operation = _i
            before = len(editor.deferred_sql)
            try:
                return _f(app_label, editor, old, new)
            finally:
                recorder.operation = None
                for stmt in editor.deferred_sql[before:]:
                    recorder.deferred[str(stmt)] = _i

        operation.database_forwards = forwards
        wrapped.append(operation)
    try:
        yield
    finally:
        for operation in wrapped:
            del operation.database_forwards
