"""A throw-away database on the target server, dropped whatever happens.

:class:`ScratchDatabase` creates ``schemaops_trace_<pid>_<random>`` and drops it
on exit, on an exception, and on SIGINT/SIGTERM (the handlers drop the
database and then behave as before). Nothing survives SIGKILL, so each
database also gets a comment naming the host and the process that owns it,
and every new scratch database first sweeps the server: a scratch database
whose owner ran on this host and is no longer alive, and that has no session,
is dropped (:func:`sweep_orphans`). ``clone_schema`` copies another database's schema
(``pg_dump --schema-only``, so no data is copied and the source needs no
exclusive access) and its ``django_migrations`` rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import Callable
from types import FrameType
from typing import Any

from schemaops.db import connect, describe, redact, sql
from schemaops.errors import ConfigError, DatabaseUnavailable

_Handler = Callable[[int, FrameType | None], Any] | int | None


class ScratchDatabase:
    """``with ScratchDatabase(params) as scratch: scratch.params`` points at the new DB."""

    def __init__(self, params: dict[str, Any], prefix: str = "schemaops_trace") -> None:
        self.server = dict(params)
        self.name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:12]}"
        self.params = {**self.server, "dbname": self.name}
        self._previous: dict[int, _Handler] = {}
        self._dropped = False
        self.swept: list[str] = []  # scratch databases of dead runs dropped on the way in

    def _admin(self) -> Any:
        """A connection for CREATE/DROP DATABASE: the maintenance DB, else the target's."""
        try:
            return connect({**self.server, "dbname": "postgres"})
        except DatabaseUnavailable:
            if not self.server.get("dbname"):
                raise
            return connect(self.server)

    def __enter__(self) -> ScratchDatabase:
        conn = self._admin()
        try:
            self.swept = _sweep(conn)
            with conn.cursor() as cur:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
                cur.execute(
                    sql.SQL("COMMENT ON DATABASE {} IS %s").format(sql.Identifier(self.name)),
                    (owner_comment(os.getpid()),),
                )
        except Exception as exc:
            first = (str(exc).strip().splitlines() or ["failed"])[0]
            raise DatabaseUnavailable(
                f"cannot create a scratch database on {describe(self.server)}: {redact(first)}"
            ) from None
        finally:
            conn.close()
        self._install_handlers()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop()
        self._restore_handlers()

    def drop(self) -> None:
        """Terminate leftover sessions and drop the database (idempotent)."""
        if self._dropped:
            return
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.name,),
                )
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self.name)))
            self._dropped = True
        finally:
            conn.close()

    # -- signals ------------------------------------------------------------------

    def _install_handlers(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            # outside the main thread this raises ValueError; the with-block still drops
            with contextlib.suppress(ValueError):
                self._previous[signum] = signal.signal(signum, self._on_signal)

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        previous = self._previous.get(signum)
        self._restore_handlers()
        if signum == signal.SIGINT:
            raise KeyboardInterrupt  # unwinds through __exit__, which drops
        try:
            self.drop()
        finally:
            if callable(previous):
                previous(signum, frame)
            raise SystemExit(128 + signum)


COMMENT_PREFIX = "schemaops scratch database"

# candidates: marked by a schemaops run and without a session (a run holds one most of
# the time; a killed run's sessions end with its sockets)
ORPHANS_SQL = """
SELECT d.datname, shobj_description(d.oid, 'pg_database')
FROM pg_database d
WHERE d.datname LIKE 'schemaops\\_%%' AND shobj_description(d.oid, 'pg_database') LIKE %s
  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)
"""


def owner_comment(pid: int) -> str:
    """The comment that marks a scratch database and names its owner: host and pid."""
    return f"{COMMENT_PREFIX}; host={socket.gethostname()}; pid={pid}"


def owner_of(comment: str) -> tuple[str, int] | None:
    """(host, pid) from :func:`owner_comment`'s text; None for anything else."""
    fields = dict(part.strip().partition("=")[::2] for part in comment.split(";")[1:])
    try:
        return fields["host"], int(fields["pid"])
    except (KeyError, ValueError):
        return None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def sweep_orphans(params: dict[str, Any]) -> list[str]:
    """Drop the scratch databases on ``params``' server whose owner, on this host, is gone
    (and that nobody is connected to)."""
    scratch = ScratchDatabase(params)
    conn = scratch._admin()
    try:
        return _sweep(conn)
    finally:
        conn.close()


def _sweep(conn: Any) -> list[str]:
    host = socket.gethostname()
    with conn.cursor() as cur:
        cur.execute(ORPHANS_SQL, (COMMENT_PREFIX + ";%",))
        found = cur.fetchall()
    dropped = []
    for name, comment in found:
        owner = owner_of(comment or "")
        if owner is None or owner[0] != host or alive(owner[1]):
            continue
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        dropped.append(name)
    return dropped


def clone_schema(source: dict[str, Any], target: dict[str, Any]) -> None:
    """Copy ``source``'s schema (no data) and its ``django_migrations`` rows into ``target``."""
    for tool in ("pg_dump", "psql"):
        if shutil.which(tool) is None:
            raise ConfigError(f"--from-database needs {tool} on PATH")
    dump = subprocess.run(
        ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", *_libpq_args(source)],
        env=_libpq_env(source),
        capture_output=True,
    )
    if dump.returncode != 0:
        raise DatabaseUnavailable(f"pg_dump failed: {redact(_first(dump.stderr))}")
    load = subprocess.run(
        ["psql", "-q", "-v", "ON_ERROR_STOP=1", *_libpq_args(target)],
        input=dump.stdout,
        env=_libpq_env(target),
        capture_output=True,
    )
    if load.returncode != 0:
        raise DatabaseUnavailable(f"loading the schema failed: {redact(_first(load.stderr))}")
    _copy_migration_rows(source, target)


def _copy_migration_rows(source: dict[str, Any], target: dict[str, Any]) -> None:
    src, dst = connect(source, readonly=True), connect(target)
    try:
        with src.cursor() as cur:
            cur.execute("SELECT to_regclass('django_migrations') IS NOT NULL")
            if not cur.fetchone()[0]:
                return
            cur.execute("SELECT app, name, applied FROM django_migrations")
            rows = cur.fetchall()
        with dst.cursor() as cur:
            cur.executemany(
                "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)", rows
            )
    finally:
        src.close()
        dst.close()


def _libpq_args(params: dict[str, Any]) -> list[str]:
    flags = {"host": "-h", "port": "-p", "user": "-U", "dbname": "-d"}
    args = []
    for key, flag in flags.items():
        if params.get(key):
            args += [flag, str(params[key])]
    return args


def _libpq_env(params: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    if params.get("password"):
        env["PGPASSWORD"] = str(params["password"])
    if params.get("sslmode"):
        env["PGSSLMODE"] = str(params["sslmode"])
    return env


def _first(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return (text.splitlines() or ["failed"])[0]
