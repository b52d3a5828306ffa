"""Helpers shared by tests: paths, the local server, the real CLI in a subprocess.

Import these with ``from support import ...`` (tests/ is on pytest's pythonpath).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_project"
# the keys of a finding in `check --format json`, version 1 (the contract of DESIGN.md):
# written here, not read from the code, so that a change to the code cannot move them
FINDING_KEYS = {
    "code",
    "name",
    "severity",
    "app",
    "migration",
    "operation",
    "message",
    "lock",
    "recipe",
    "path",
    "line",
}
PG = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER", "postgres"),
    "dbname": "postgres",
}


def shop_env(params: dict[str, str]) -> dict[str, str]:
    """Point the demo shop's settings at a test database."""
    return {
        "SHOP_DB_NAME": params["dbname"],
        "SHOP_DB_HOST": params["host"],
        "SHOP_DB_PORT": params["port"],
        "SHOP_DB_USER": params["user"],
    }


def admin_connection() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(**PG)
    conn.autocommit = True
    return conn


def create_database(name: str, template: str | None = None) -> None:
    """Database ``name``, empty, or a copy of ``template`` (``CREATE DATABASE ... TEMPLATE``:
    what its migrations made without running them again; it must have no session open)."""
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(create)
    finally:
        conn.close()


def drop_database(name: str) -> None:
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    finally:
        conn.close()


_DROPS: queue.Queue[str] = queue.Queue()
_FAILED: list[str] = []
_dropper: threading.Thread | None = None


def drop_database_soon(name: str) -> None:
    """Drop ``name`` on a thread of its own, so the next test need not wait for it.

    PostgreSQL 15 ends every DROP DATABASE with a checkpoint (up to a second on a busy
    server). A fixture's database is no test's business once the fixture is done, so
    its drop leaves the critical path; ``finish_drops`` (end of session) waits for
    every queued drop and retries, in the foreground, any that failed."""
    global _dropper
    if _dropper is None:
        _dropper = threading.Thread(target=_drop_queued, name="drop-databases", daemon=True)
        _dropper.start()
    _DROPS.put(name)


def _drop_queued() -> None:
    while True:
        name = _DROPS.get()
        try:
            drop_database(name)
        except Exception:
            _FAILED.append(name)
        finally:
            _DROPS.task_done()


def finish_drops() -> None:
    """Wait for the drops ``drop_database_soon`` queued; a failed one is tried again here,
    where its error is seen."""
    _DROPS.join()
    while _FAILED:
        drop_database(_FAILED.pop())


def run_cli(
    *args: str, cwd: Path | str = SAMPLE, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess (a fresh Django per call)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "-m", "schemaops", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
