"""The benches' one way to reach the local PostgreSQL as its administrator.

Every bench creates and drops its own scratch databases through here, so the
server they talk to is named once: libpq's ``PGHOST``/``PGPORT``/``PGUSER`` when
set, else the local server as ``postgres`` (trust), as the team machines run it.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg2
from psycopg2 import sql

# The server, without a database: add ``dbname`` for a connection.
PG: dict[str, Any] = {
    "host": os.environ.get("PGHOST", "127.0.0.1"),
    "port": os.environ.get("PGPORT", "5432"),
    "user": os.environ.get("PGUSER", "postgres"),
}
# The maintenance database, where CREATE DATABASE and DROP DATABASE run.
SERVER: dict[str, Any] = {**PG, "dbname": "postgres"}


def connect(dbname: str = "postgres") -> Any:
    """An autocommit connection to ``dbname`` (CREATE/DROP DATABASE refuse a transaction)."""
    conn = psycopg2.connect(**PG, dbname=dbname)
    conn.autocommit = True
    return conn


def admin(statement: sql.Composable | str) -> None:
    """Run one statement on the maintenance database and close the connection."""
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()
