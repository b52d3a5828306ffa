"""Helpers for the schemaops migrate tests (imported as migrate_support)."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg2
from support import run_cli, shop_env


def migrate(params: dict[str, str], *args: str) -> Any:
    return run_cli("migrate", *args, env=shop_env(params), timeout=120)


class LockHolder:
    """A second session that holds a table lock until released (now or by a timer)."""

    def __init__(self, params: dict[str, str], table: str, mode: str) -> None:
        self.conn = psycopg2.connect(**params)
        with self.conn.cursor() as cur:
            cur.execute(f"LOCK TABLE {table} IN {mode} MODE")  # test-only, fixed names

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()

    def release_once_waited_on(self, table: str, params: dict[str, str], after: float = 0.5):
        """Release ``after`` seconds past the first time another session waits for the
        table (so the test does not depend on how fast the CLI starts)."""

        def watch() -> None:
            conn = psycopg2.connect(**params)
            conn.autocommit = True
            deadline = time.monotonic() + 90
            try:
                with conn.cursor() as cur:
                    while time.monotonic() < deadline:
                        cur.execute(
                            "SELECT count(*) FROM pg_locks "
                            "WHERE relation = to_regclass(%s) AND NOT granted",
                            (table,),
                        )
                        if cur.fetchone()[0]:
                            break
                        time.sleep(0.02)
            finally:
                conn.close()
            time.sleep(after)
            self.release()

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        return thread


def recorded(params: dict[str, str], app: str) -> set[str]:
    conn = psycopg2.connect(**params)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM django_migrations WHERE app = %s", (app,))
            return {name for (name,) in cur.fetchall()}
    finally:
        conn.close()


def columns(params: dict[str, str], table: str) -> set[str]:
    conn = psycopg2.connect(**params)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
                "AND attnum > 0 AND NOT attisdropped",
                (table,),
            )
            return {name for (name,) in cur.fetchall()}
    finally:
        conn.close()
