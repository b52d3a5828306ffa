"""Fixtures for the backfill tests: a fresh copy of the migrated demo shop per test,
and a real Celery worker on a real Redis broker. Helpers live in backfill_support.py.

Each test gets its own database, cloned from the session's migrated shop database
(``CREATE DATABASE ... TEMPLATE``), so runs, batches and orders never leak between
tests. The CLI runs in a subprocess pointed at it through ``SHOP_DB_NAME``.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backfill_support import REDIS_URL, ShopCopy, Worker
from support import create_database, drop_database_soon


@pytest.fixture
def shop(shop_db: str) -> Iterator[ShopCopy]:
    """A fresh, migrated, empty copy of the demo shop for this test."""
    from django.db import connections

    connections.close_all()  # a template database must have no other sessions
    name = f"schemaops_bf_{uuid.uuid4().hex[:10]}"
    create_database(name, shop_db)
    copy = ShopCopy(name, {"SHOP_DB_NAME": name, "CELERY_BROKER_URL": ""})
    try:
        yield copy
    finally:
        drop_database_soon(name)  # its sessions are ended first (support.drop_database)


@pytest.fixture
def copy_alias(shop: ShopCopy) -> Iterator[str]:
    """A Django connection alias of this process pointed at the test's shop copy.

    Its connection is closed and deleted afterwards, with the alias's settings, so no
    later test reuses a connection to a database that has been dropped since."""
    from django.db import connections

    name = f"copy_{uuid.uuid4().hex[:6]}"
    connections.settings[name] = {**connections.settings["default"], "NAME": shop.name}
    try:
        yield name
    finally:
        connections[name].close()
        del connections[name]
        del connections.settings[name]


@pytest.fixture
def redis_available() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:  # the machine runs Redis; this is a setup failure
        pytest.fail(f"Redis at {REDIS_URL} is required for the Celery tests: {exc}")
    return REDIS_URL


@pytest.fixture
def worker(shop: ShopCopy, redis_available: str) -> Iterator[Worker]:
    queue = f"schemaops-test-{uuid.uuid4().hex[:8]}"
    w = Worker(shop, queue)
    shop.env["CELERY_BROKER_URL"] = redis_available
    try:
        yield w
    finally:
        w.stop()
