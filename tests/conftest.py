"""Shared fixtures: Django configured on the demo shop, real PostgreSQL databases.

Tests never mock the database. Each test that needs one gets a database of
its own on the local server (created and dropped here); the shared server's
configuration is never changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_project"
PG = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER", "postgres"),
    "dbname": "postgres",
}

# One database name per test session for the demo shop's models.
SHOP_DB = os.environ.setdefault("SHOP_DB_NAME", f"schemaops_test_{uuid.uuid4().hex[:8]}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
if str(SAMPLE) not in sys.path:
    sys.path.insert(0, str(SAMPLE))

import django  # noqa: E402

django.setup()


def admin_connection() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(**PG)
    conn.autocommit = True
    return conn


def create_database(name: str) -> None:
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
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


@pytest.fixture
def scratch_db() -> Iterator[dict[str, str]]:
    """An empty database of the test's own; yields libpq parameters."""
    name = f"schemaops_t_{uuid.uuid4().hex[:10]}"
    create_database(name)
    try:
        yield {**PG, "dbname": name}
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def shop_db() -> Iterator[str]:
    """The demo shop's database, migrated; the name is SHOP_DB_NAME."""
    from django.core.management import call_command
    from django.db import connections

    create_database(SHOP_DB)
    try:
        call_command("migrate", verbosity=0)
        yield SHOP_DB
    finally:
        connections.close_all()
        drop_database(SHOP_DB)


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
