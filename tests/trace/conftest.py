"""Fixtures for the trace tests; helpers live in trace_support.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from trace_support import run_setup

BASE = [
    "CREATE TABLE parent (id bigint PRIMARY KEY)",
    "CREATE TABLE t (id bigint PRIMARY KEY, parent_id bigint, n integer, "
    "name varchar(20), note text)",
    "INSERT INTO parent SELECT g FROM generate_series(1, 100) g",
    "INSERT INTO t SELECT g, 1 + g % 100, g, 'x' || g, NULL FROM generate_series(1, 1000) g",
]


@pytest.fixture
def table_db(scratch_db: dict[str, str]) -> Iterator[dict[str, str]]:
    """A database with ``parent`` and ``t`` (1000 rows) in it."""
    run_setup(scratch_db, BASE)
    yield scratch_db
