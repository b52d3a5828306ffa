"""Fixtures for the stats tests: real snapshots of a database shaped like the demo shop."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest
import support

from schemaops.stats.snapshot import take_snapshot

TABLES = (
    "CREATE TABLE IF NOT EXISTS products_product (id bigint PRIMARY KEY, name text, price int)",
    "CREATE TABLE IF NOT EXISTS orders_order (id bigint PRIMARY KEY, legacy_ref text)",
)


@pytest.fixture
def sized_snapshot(scratch_db, tmp_path) -> Callable[[int], Path]:
    """``make(rows)``: fill products_product up to ``rows`` rows, snapshot it to a file."""

    def make(rows: int) -> Path:
        conn = psycopg2.connect(**scratch_db)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for statement in TABLES:
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO products_product SELECT g, 'p' || g, g "
                    "FROM generate_series(1, %s) g ON CONFLICT DO NOTHING",
                    (rows,),
                )
                cur.execute("ANALYZE products_product, orders_order")
            path = tmp_path / f"stats-{rows}.json"
            path.write_text(json.dumps(take_snapshot(conn)), encoding="utf-8")
            return path
        finally:
            conn.close()

    return make


@pytest.fixture
def small(sized_snapshot) -> Path:
    """A snapshot where products_product has 1,000 rows."""
    return sized_snapshot(1_000)


@pytest.fixture
def shop_env(scratch_db) -> dict[str, str]:
    """The demo shop's settings pointed at the test's database."""
    return support.shop_env(scratch_db)
