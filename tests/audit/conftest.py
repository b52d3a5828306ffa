"""Fixtures of the audit tests: a scratch database to plant problems in, and the audit itself.

Every test builds the problem for real on PostgreSQL (plus a clean twin) and
runs the real checks on a read-only connection; nothing is mocked.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest
from psycopg2 import sql

from schemaops.audit import Thresholds
from schemaops.audit.runner import AuditResult, run_audit, select
from schemaops.findings import Finding


class Planted:
    """A scratch database: run SQL in it as the admin, then audit it."""

    def __init__(self, params: dict[str, str]) -> None:
        self.params = params

    def sql(self, *statements: str) -> None:
        """Run statements (autocommit), then flush this backend's statistics."""
        conn = psycopg2.connect(**self.params)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
                cur.execute("SELECT pg_stat_force_next_flush()")
        finally:
            conn.close()

    def fails(self, statement: str) -> None:
        """Run a statement that must fail (e.g. a CREATE INDEX CONCURRENTLY on bad data)."""
        conn = psycopg2.connect(**self.params)
        conn.autocommit = True
        try:
            with conn.cursor() as cur, pytest.raises(psycopg2.Error):
                cur.execute(statement)
        finally:
            conn.close()

    def result(self, *codes: str, models: Any = None, **thresholds: Any) -> AuditResult:
        result = run_audit(
            self.params, select(codes), models=models, thresholds=Thresholds(**thresholds)
        )
        assert not result.failed, result.failed
        return result

    def audit(self, *codes: str, models: Any = None, **thresholds: Any) -> list[Finding]:
        return self.result(*codes, models=models, **thresholds).findings

    def objects(self, *codes: str, **kwargs: Any) -> set[str]:
        return {f.obj or "" for f in self.audit(*codes, **kwargs)}


@pytest.fixture
def db(scratch_db: dict[str, str]) -> Planted:
    return Planted(scratch_db)


@pytest.fixture
def shop_copy(shop_db: str) -> Iterator[Planted]:
    """A private copy of the migrated demo shop, to create drift in."""
    from django.db import connections
    from support import PG, create_database, drop_database  # type: ignore[import-not-found]

    connections.close_all()
    name = f"schemaops_audit_{uuid.uuid4().hex[:8]}"
    if not _copy_by_template(PG, shop_db, name):
        create_database(name)  # someone else is connected to the shop: copy with pg_dump
        _copy_by_dump(PG, shop_db, name)
    try:
        yield Planted({**PG, "dbname": name})
    finally:
        drop_database(name)


def _copy_by_template(pg: dict[str, str], source: str, name: str) -> bool:
    conn = psycopg2.connect(**pg)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(source)
                )
            )
        return True
    except psycopg2.errors.ObjectInUse:
        return False
    finally:
        conn.close()


def _copy_by_dump(pg: dict[str, str], source: str, name: str) -> None:
    base = ["-h", pg["host"], "-p", pg["port"], "-U", pg["user"]]
    dump = subprocess.run(["pg_dump", *base, "--no-owner", source], capture_output=True, check=True)
    subprocess.run(
        ["psql", *base, "-q", "-v", "ON_ERROR_STOP=1", "-d", name],
        input=dump.stdout,
        capture_output=True,
        check=True,
    )
