"""SO801 comes from `check --trace` (schemaops.trace.merge); the real-server path is in
tests/trace/test_merge.py. Here: the registered rule's identity reaches the findings, and a
lock that blocks nothing of the application's does not become one."""

from __future__ import annotations

import pytest

from schemaops.checks import lookup
from schemaops.findings import Finding, Severity
from schemaops.trace.merge import merge_findings
from schemaops.trace.runner import TraceResult
from schemaops.trace.snapshot import Changes
from schemaops.trace.tracer import LockTaken, MigrationTrace, StatementTrace

KEY = ("products", "0002_product_category")


@pytest.fixture(scope="module")
def loader():
    from schemaops.selection import load_graph

    return load_graph()


def _trace(mode: str, rewritten: list[str] | None = None) -> TraceResult:
    stmt = StatementTrace(
        sql="ALTER TABLE products_product ...",
        operation=1,
        duration_ms=3.0,
        locks=[LockTaken("products_product", "table", mode, True)],
        changes=Changes(rewritten=rewritten or []),
    )
    return TraceResult(migrations=[MigrationTrace(*KEY, True, [stmt])])


def test_unreported_share_lock_is_so801_with_the_registered_identity(loader):
    findings: list[Finding] = []
    merge_findings(findings, _trace("ShareLock"), loader)
    rule = lookup("SO801")
    assert rule is not None and rule.name == "observed-blocking-lock"
    assert [(f.code, f.name, f.severity) for f in findings] == [
        ("SO801", "observed-blocking-lock", Severity.INFO)
    ]
    assert findings[0].lock.startswith('SHARE on "products_product"')
    assert findings[0].path.endswith("0002_product_category.py")


def test_a_lock_that_lets_writes_through_is_not_reported(loader):
    findings: list[Finding] = []
    merge_findings(findings, _trace("ShareUpdateExclusiveLock"), loader)
    assert findings == []
