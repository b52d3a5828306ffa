"""AU103: index suggestions proven with HypoPG hypothetical indexes (no index is built)."""

from __future__ import annotations

import pytest

from schemaops.audit._base import AuditContext
from schemaops.audit.runner import open_readonly, run_audit, select
from schemaops.audit.suggest import parse, prove

TABLES = [
    "CREATE EXTENSION hypopg",
    "CREATE TABLE orders (id int PRIMARY KEY, customer_id int, status text, total int)",
    "INSERT INTO orders SELECT g, g % 5000, CASE WHEN g % 50 = 0 THEN 'open' ELSE 'done' END, "
    "g % 977 FROM generate_series(1, 200000) g",
    "CREATE TABLE customers (id int PRIMARY KEY, email text)",
    "INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 5000) g",
    "ANALYZE orders",
    "ANALYZE customers",
]


@pytest.fixture
def ctx(db):
    db.sql(*TABLES)
    conn = open_readonly(db.params, "30s")
    yield AuditContext(conn)
    conn.close()


def test_parse_resolves_aliases_and_clauses(ctx):
    query = parse(
        ctx,
        "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.email = $1 ORDER BY o.total",
    )
    assert query.params == 1
    assert query.columns == {
        ("public", "customers", "id"),
        ("public", "customers", "email"),
        ("public", "orders", "customer_id"),
        ("public", "orders", "total"),
    }


def test_prove_suggests_the_index_the_planner_would_use(ctx):
    found = prove(ctx, "SELECT * FROM orders WHERE customer_id = $1")
    assert list(found) == [("public", "orders", ("customer_id",))]
    proof = found[("public", "orders", ("customer_id",))]
    assert proof["cost_after"] < proof["cost_before"] / 2
    assert proof["gain_pct"] >= 50


def test_prove_picks_a_two_column_index_when_it_wins(ctx):
    found = prove(ctx, "SELECT * FROM orders WHERE customer_id = $1 AND total = $2")
    (key,) = found
    assert key[:2] == ("public", "orders") and set(key[2]) <= {"customer_id", "total"}


def test_prove_is_silent_when_an_index_exists_or_nothing_helps(db, ctx):
    assert prove(ctx, "SELECT count(*) FROM orders WHERE status <> $1") == {}
    assert prove(ctx, "SELECT * FROM orders WHERE id = $1") == {}  # the primary key
    assert prove(ctx, "INSERT INTO orders VALUES (1, 1, 'x', 1)") == {}


def test_prove_leaves_nothing_behind(db, ctx):
    prove(ctx, "SELECT * FROM orders WHERE customer_id = $1")
    assert ctx.rows("SELECT count(*) AS n FROM hypopg_list_indexes")[0]["n"] == 0
    assert ctx.rows("SELECT count(*) AS n FROM pg_indexes WHERE tablename = 'orders'")[0]["n"] == 1


def test_au103_is_skipped_without_pg_stat_statements(db):
    db.sql("CREATE TABLE t (id int)")
    result = run_audit(db.params, select(["AU103"]))
    assert "pg_stat_statements" in result.skipped["AU103"]
