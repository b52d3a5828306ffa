"""Shared fixtures: Django configured on the demo shop, real PostgreSQL databases.

Tests never mock the database. Each test that needs one gets a database of
its own on the local server (created and dropped here); the shared server's
configuration is never changed. Helpers live in ``support.py``.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator

import pytest
from support import (  # noqa: F401 - re-exported for older imports
    PG,
    ROOT,
    SAMPLE,
    admin_connection,
    create_database,
    drop_database,
    drop_database_soon,
    finish_drops,
    run_cli,
)

# One database name per test session for the demo shop's models.
SHOP_DB = os.environ.setdefault("SHOP_DB_NAME", f"schemaops_test_{uuid.uuid4().hex[:8]}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
if str(SAMPLE) not in sys.path:
    sys.path.insert(0, str(SAMPLE))

import django  # noqa: E402

django.setup()


@pytest.fixture
def scratch_db() -> Iterator[dict[str, str]]:
    """An empty database of the test's own; yields libpq parameters."""
    name = f"schemaops_t_{uuid.uuid4().hex[:10]}"
    create_database(name)
    try:
        yield {**PG, "dbname": name}
    finally:
        drop_database_soon(name)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    finish_drops()  # the databases fixtures dropped in the background are gone


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
