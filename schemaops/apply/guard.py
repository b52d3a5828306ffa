"""The execute_wrapper ``schemaops migrate`` puts around every statement.

Inside a transaction (an atomic migration) it only records the table locks the
statement left its backend holding; a lock timeout propagates and the whole
migration is retried by :mod:`schemaops.apply.runner`.

Outside a transaction (a non-atomic migration, where every statement commits
on its own and re-running the migration is not possible) it makes the
statement resumable and retries it alone:

* before a ``CREATE INDEX``: an INVALID index of that name (left by a
  ``CREATE INDEX CONCURRENTLY`` that failed, now or in an earlier run) is
  dropped so the build can start again; a VALID one with the same definition
  (``pg_get_indexdef``, compared through PostgreSQL's parser) means the statement
  already succeeded in an earlier run and it is skipped; a VALID one with another
  definition is an error, as Django's own ``migrate`` gives (the name is taken);
* on a lock timeout it waits (backoff with jitter) and runs the statement again.

Its locks are sampled from a second connection while it runs; for a
``CONCURRENTLY`` build the sampler holds a snapshot the build must wait for,
released the moment the build's lock has been seen (at most 0.5 s), so the
reported lock does not depend on luck.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from schemaops.apply.blockers import BlockerWatch, describe_all
from schemaops.apply.retry import Backoff, is_lock_timeout
from schemaops.db import connect, sql
from schemaops.trace.sampler import LockSampler
from schemaops.trace.tracer import first_line, transaction_failed

Emit = Callable[[str, dict[str, Any]], None]

TABLE_LOCKS_SQL = """
SELECT c.relname, l.mode FROM pg_locks l
JOIN pg_class c ON c.oid = l.relation
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""

TABLES_SQL = """
SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY(%s) AND c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""

INDEX_SQL = """
SELECT n.nspname, c.relname, i.indisvalid, pg_get_indexdef(c.oid) FROM pg_class c
JOIN pg_index i ON i.indexrelid = c.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = %s AND (n.nspname = %s OR (%s IS NULL AND pg_table_is_visible(c.oid)))
"""


class StatementGuard:
    """See the module docstring. ``locks`` collects (table, pg_locks mode) pairs."""

    def __init__(
        self, connection: Any, params: dict[str, Any], backoff: Backoff, emit: Emit
    ) -> None:
        self.connection = connection
        self.params = params
        self.backoff = backoff
        self.emit = emit
        self.locks: set[tuple[str, str]] = set()
        self.sleep = time.sleep
        self.watch: BlockerWatch | None = None  # who blocks this backend, set by the runner

    def __call__(self, execute: Callable[..., Any], sql_text: str, params: Any, many: bool, ctx):
        if not self.connection.get_autocommit():
            result = execute(sql_text, params, many, ctx)
            self._own_locks()
            return result
        index, concurrent = _index_target(sql_text)
        attempt = 0
        while True:
            attempt += 1
            if index and self._index_already_built(index, sql_text):
                self.emit("skipped", {"reason": f"index {index[1]} already exists and is valid"})
                return None
            try:
                return self._sampled(execute, (sql_text, params, many, ctx), concurrent)
            except Exception as exc:
                if not is_lock_timeout(exc) or attempt > self.backoff.retries:
                    raise
                self._wait(attempt, exc, "statement")

    def _wait(self, attempt: int, exc: Exception, scope: str) -> None:
        delay = self.backoff.delay(attempt)
        blockers = self.watch.take() if self.watch is not None else []
        self.emit(
            "retry",
            {
                "attempt": attempt,
                "of": self.backoff.retries,
                "delay": delay,
                "scope": scope,
                "error": first_line(exc),
                "blockers": [b.as_json() for b in blockers],
                "blocked_by": describe_all(blockers),
            },
        )
        self.sleep(delay)

    def _own_locks(self) -> None:
        if transaction_failed(self.connection):
            return
        cur = self.connection.connection.cursor()
        try:
            cur.execute(TABLE_LOCKS_SQL)
            self.locks.update((name, mode) for name, mode in cur.fetchall())
        finally:
            cur.close()

    def _sampled(self, execute: Callable[..., Any], args: tuple, concurrent: bool) -> Any:
        # A concurrent build on a small table is over before a poll sees its lock; the
        # pin (a snapshot the build waits for) is let go as soon as the lock was seen.
        sampler = LockSampler(
            self.params, self._pid(), interval=0.005, pin_snapshot=concurrent, pin_seconds=0.5
        )
        with sampler:
            result = execute(*args)
        if sampler.seen:
            conn = connect(self.params)
            try:
                with conn.cursor() as cur:
                    cur.execute(TABLES_SQL, ([oid for oid, _ in sampler.seen],))
                    names = dict(cur.fetchall())
            finally:
                conn.close()
            self.locks.update((names[o], m) for o, m in sampler.seen if o in names)
        return result

    def _pid(self) -> int:
        return backend_pid(self.connection)

    def _index_already_built(self, index: tuple[str | None, str], statement: str) -> bool:
        """True for a VALID index of that name and definition; drops an INVALID one first;
        raises IndexNameTaken for a VALID one with another definition."""
        schema, name = index
        conn = connect(self.params)
        try:
            with conn.cursor() as cur:
                cur.execute(INDEX_SQL, (name, schema, schema))
                row = cur.fetchone()
                if row is None:
                    return False
                if row[2]:
                    if _definition(row[3]) != _definition(statement):
                        raise IndexNameTaken(
                            f'relation "{name}" already exists with another definition:'
                            f" {row[3]} (this migration: {_one_line(statement)})"
                        )
                    return True
                cur.execute(
                    sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
                        sql.Identifier(row[0], row[1])
                    )
                )
                self.emit("dropped-invalid", {"index": f"{row[0]}.{row[1]}"})
                return False
        finally:
            conn.close()


def backend_pid(connection: Any) -> int:
    """The server process id of a Django connection (psycopg 2 or 3), connecting first."""
    connection.ensure_connection()
    raw = connection.connection
    info = getattr(raw, "info", None)  # psycopg 3
    return int(info.backend_pid if info is not None else raw.get_backend_pid())


class IndexNameTaken(Exception):
    """A valid index has the name a CREATE INDEX wants, but not its definition."""


def _one_line(statement: str) -> str:
    return " ".join(statement.split())


def _definition(statement: str) -> str:
    """A CREATE INDEX as PostgreSQL's parser reads it, without what does not change the
    index: its name, the schema of its table, CONCURRENTLY and IF NOT EXISTS."""
    from pglast import ast, parse_sql
    from pglast.stream import RawStream

    stmt = parse_sql(statement)[0].stmt
    assert isinstance(stmt, ast.IndexStmt) and stmt.relation is not None  # _index_target's
    stmt.idxname, stmt.concurrent, stmt.if_not_exists = "i", False, False
    stmt.relation.schemaname = None
    return str(RawStream()(stmt))


def _index_target(statement: str) -> tuple[tuple[str | None, str] | None, bool]:
    """((schema or None, index name) of a named CREATE INDEX, CONCURRENTLY or not),
    read with PostgreSQL's own parser."""
    from pglast import ast, parse_sql
    from pglast.parser import ParseError

    try:
        nodes = parse_sql(statement)
    except ParseError:
        return None, False
    if len(nodes) != 1 or not isinstance(nodes[0].stmt, ast.IndexStmt):
        return None, False
    stmt = nodes[0].stmt
    concurrent = bool(stmt.concurrent)
    if not stmt.idxname or stmt.if_not_exists or stmt.relation is None:
        return None, concurrent
    return (stmt.relation.schemaname or None, stmt.idxname), concurrent
