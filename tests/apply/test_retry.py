"""schemaops migrate against a real lock held by a second session."""

from __future__ import annotations

import psycopg2
import pytest
from migrate_support import LockHolder, columns, migrate, recorded


def _retrying(lock_timeout: str, retries: int, delay: str) -> tuple[str, ...]:
    """migrate's options: wait ``lock_timeout`` for a lock, then retry up to ``retries``
    times, ``delay`` apart."""
    return ("--lock-timeout", lock_timeout, "--retries", str(retries), "--retry-delay", delay)


def _products_with_category(params: dict[str, str]) -> None:
    """products migrated up to 0002 (its plain index build allowed: the table is empty)."""
    run = migrate(params, "products", "0002", "--allow", "products.0002_product_category")
    assert run.returncode == 0, run.stderr


def test_atomic_migration_retries_until_the_lock_is_released(scratch_db, holders):
    assert migrate(scratch_db, "customers", "0001").returncode == 0
    holder = LockHolder(scratch_db, "customers_customer", "ACCESS SHARE")
    holders.append(holder)
    holder.release_once_waited_on("customers_customer", scratch_db, after=0.6)
    run = migrate(scratch_db, "customers", "0002", *_retrying("200ms", 8, "0.3"))
    assert run.returncode == 0, run.stderr
    assert "lock timeout (migration), retry 1/8" in run.stderr
    assert "✓ customers.0002_customer_phone" in run.stderr
    assert "ACCESS EXCLUSIVE on customers_customer" in run.stderr
    assert "phone" in columns(scratch_db, "customers_customer")
    assert "0002_customer_phone" in recorded(scratch_db, "customers")


def test_atomic_migration_fails_cleanly_when_the_lock_stays(scratch_db, holders):
    assert migrate(scratch_db, "customers", "0001").returncode == 0
    holders.append(LockHolder(scratch_db, "customers_customer", "ACCESS SHARE"))
    run = migrate(scratch_db, "customers", "0002", *_retrying("100ms", 2, "0.05"))
    assert run.returncode == 1
    assert "retry 2/2" in run.stderr
    assert "customers.0002_customer_phone failed after 3 attempt(s) (lock timeout" in run.stderr
    assert "Traceback" not in run.stderr
    assert "phone" not in columns(scratch_db, "customers_customer")
    assert recorded(scratch_db, "customers") == {"0001_initial"}


def test_concurrent_index_statement_is_retried_alone(scratch_db, holders):
    _products_with_category(scratch_db)
    holder = LockHolder(scratch_db, "products_product", "SHARE")  # conflicts with CIC
    holders.append(holder)
    holder.release_once_waited_on("products_product", scratch_db, after=0.6)
    run = migrate(scratch_db, "products", "0003", *_retrying("200ms", 8, "0.3"))
    assert run.returncode == 0, run.stderr
    assert "lock timeout (statement)" in run.stderr
    assert "SHARE UPDATE EXCLUSIVE on products_product" in run.stderr
    assert _index_valid(scratch_db, "product_name_idx") is True
    assert "0003_product_name_idx" in recorded(scratch_db, "products")


def test_invalid_index_left_by_a_failed_build_is_dropped_and_rebuilt(scratch_db):
    _products_with_category(scratch_db)
    conn = psycopg2.connect(**scratch_db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO products_product (sku, name, price, stock) "
            "VALUES ('a', 'same', 1, 0), ('b', 'same', 1, 0)"
        )
        # a unique build over duplicates fails and leaves an INVALID index behind
        with pytest.raises(psycopg2.errors.UniqueViolation):
            cur.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY product_name_idx ON products_product (name)"
            )
    conn.close()
    assert _index_valid(scratch_db, "product_name_idx") is False
    run = migrate(scratch_db, "products", "0003")
    assert run.returncode == 0, run.stderr
    assert "dropped invalid index public.product_name_idx" in run.stderr
    assert _index_valid(scratch_db, "product_name_idx") is True


def _index_valid(params, name):
    conn = psycopg2.connect(**params)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", (name,)
            )
            row = cur.fetchone()
            return None if row is None else row[0]
    finally:
        conn.close()


def test_a_lock_timeout_names_the_sessions_that_block_it(scratch_db, holders):
    assert migrate(scratch_db, "customers", "0001").returncode == 0
    holder = LockHolder(scratch_db, "customers_customer", "ACCESS SHARE")
    holders.append(holder)
    with holder.conn.cursor() as cur:
        cur.execute("SET application_name = 'nightly-report'")
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    run = migrate(scratch_db, "customers", "0002", *_retrying("300ms", 1, "50ms"))
    assert run.returncode == 1
    blocked = f"blocked by pid {pid} (nightly-report), idle in transaction for "
    retry_line = next(line for line in run.stderr.splitlines() if "retry 1/1" in line)
    assert blocked in retry_line and "query started 20" in retry_line
    assert "SET application_name = 'nightly-report'" not in retry_line  # its last query...
    assert "SELECT pg_backend_pid()" in retry_line  # ...is the one it ran last
    assert f"(lock timeout, {blocked}" in run.stderr  # the failure names it too


def test_a_valid_index_of_that_name_is_skipped_only_with_the_same_definition(scratch_db):
    """A rerun after the build succeeded skips it; an index that merely has the name is
    an error, as Django's own migrate gives, and the migration is not recorded."""
    _products_with_category(scratch_db)
    conn = psycopg2.connect(**scratch_db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE INDEX product_name_idx ON products_product (sku)")
    taken = migrate(scratch_db, "products", "0003")
    assert taken.returncode == 1
    assert 'relation "product_name_idx" already exists with another definition' in taken.stderr
    assert "USING btree (sku)" in taken.stderr
    assert "0003_product_name_idx" not in " ".join(recorded(scratch_db, "products"))
    with conn.cursor() as cur:
        cur.execute("DROP INDEX product_name_idx")
        cur.execute("CREATE INDEX product_name_idx ON public.products_product USING btree (name)")
    conn.close()
    rerun = migrate(scratch_db, "products", "0003")
    assert rerun.returncode == 0, rerun.stderr
    assert "index product_name_idx already exists and is valid" in rerun.stderr
