"""check --trace: static lock claims held against a real trace of the same migration."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from support import run_cli, shop_env
from trace_support import trace_statements

from schemaops.findings import Finding, Severity
from schemaops.locks import Lock
from schemaops.trace.merge import merge_findings, parse_claim
from schemaops.trace.runner import TraceOptions, TraceResult, run_trace
from schemaops.trace.tracer import MigrationTrace

KEY = ("products", "0002_product_category")


@pytest.fixture(scope="module")
def loader():
    from django.db.migrations.loader import MigrationLoader

    return MigrationLoader(None, ignore_no_migrations=True)


@pytest.fixture(scope="module")
def category_trace() -> TraceResult:
    return run_trace({KEY}, TraceOptions())


def _claim(lock: Lock, operation: int) -> Finding:
    return Finding(
        "SO201",
        "add-index-non-concurrently",
        Severity.ERROR,
        "builds an index",
        app=KEY[0],
        migration=KEY[1],
        operation=operation,
        lock=lock.on("products_product", "for the whole index build"),
    )


def test_parse_claim_reads_the_lock_on_form():
    assert parse_claim(Lock.SHARE_ROW_EXCLUSIVE.on("t", "x")) == (Lock.SHARE_ROW_EXCLUSIVE, "t")
    assert parse_claim(Lock.SHARE.on("t")) == (Lock.SHARE, "t")
    assert parse_claim("something else") is None


def test_confirmed_and_contradicted_claims(category_trace, loader):
    right, held, wrong = (
        _claim(lock, 1) for lock in (Lock.SHARE, Lock.ACCESS_EXCLUSIVE, Lock.EXCLUSIVE)
    )
    findings = [right, held, wrong]
    merge_findings(findings, category_trace, loader)
    assert right.evidence["trace"] == "confirmed: SHARE on products_product"
    assert right.message == "builds an index"
    # operation 0 (ADD COLUMN) took ACCESS EXCLUSIVE; the index build ran while it was held
    assert held.evidence["trace"] == (
        "consistent: ACCESS EXCLUSIVE on products_product held while it ran"
    )
    assert wrong.message.endswith(
        '[trace: observed ACCESS EXCLUSIVE on "products_product", not EXCLUSIVE]'
    )
    assert wrong.evidence["trace"].startswith("contradicted")


def test_an_unreported_blocking_lock_becomes_so801(category_trace, loader):
    findings = [_claim(Lock.SHARE, 1)]
    merge_findings(findings, category_trace, loader)
    new = [f for f in findings if f.code == "SO801"]
    assert [(f.operation, parse_claim(f.lock or "")) for f in new] == [
        (0, (Lock.ACCESS_EXCLUSIVE, "products_product"))
    ]
    assert new[0].path and new[0].path.endswith("0002_product_category.py")
    assert new[0].line == 9  # migrations.AddField( of operation 0
    assert "ALTER TABLE" in new[0].evidence["statement"]


def test_an_unreported_rewrite_becomes_so802(scratch_db, loader):
    from trace_support import run_setup

    run_setup(
        scratch_db,
        [
            "CREATE TABLE products_product (id bigint PRIMARY KEY, n integer)",
            "INSERT INTO products_product SELECT g, g FROM generate_series(1, 50) g",
        ],
    )
    stmts = trace_statements(scratch_db, ["ALTER TABLE products_product ALTER n TYPE bigint"])
    for s in stmts:
        s.operation = 0
    trace = TraceResult(migrations=[MigrationTrace(KEY[0], KEY[1], True, stmts)])
    findings: list[Finding] = []
    merge_findings(findings, trace, loader)
    assert [f.code for f in findings] == ["SO802"]
    assert 'rewrote "products_product"' in findings[0].message


def test_check_trace_cli_on_the_demo_shop(scratch_db):
    run = run_cli(
        "check", "--trace", "--app", "products", "--format", "json", env=shop_env(scratch_db)
    )
    assert run.returncode == 1, run.stderr  # SO201 is an error finding
    findings = json.loads(run.stdout)["findings"]
    so201 = next(f for f in findings if f["code"] == "SO201")
    assert "[trace:" not in so201["message"]  # the claim holds


def test_a_break_no_rule_explains_stands_at_its_first_suspect(loader):
    """SO803 (merge_compat) points at the file and line of the operation blamed first."""
    from schemaops.trace.compat import Break, CompatResult
    from schemaops.trace.compat_merge import merge_compat

    brk = Break(
        release="old",
        phase="after pre-deploy",
        model="products.Product",
        table="products_product",
        step="insert",
        statement="INSERT INTO products_product ...",
        error="boom",
        suspects=[(KEY[0], KEY[1], 1)],
    )
    findings: list[Finding] = []
    merge_compat(findings, CompatResult(breaks=[brk, replace(brk, suspects=[])]), loader)
    located, unlocated = findings
    assert located.code == "SO803" and located.path and located.path.endswith(f"{KEY[1]}.py")
    assert located.line == 14  # migrations.AddIndex( of operation 1
    assert (unlocated.path, unlocated.line) == (None, None)
