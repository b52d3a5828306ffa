"""SO802 comes from `check --trace`; the real rewrite is traced in tests/trace/test_merge.py."""

from __future__ import annotations

import pytest
from test_observed_blocking_lock import _trace

from schemaops.findings import Finding, Severity
from schemaops.trace.merge import merge_findings


@pytest.fixture(scope="module")
def loader():
    from schemaops.selection import load_graph

    return load_graph()


def test_a_rewrite_wins_over_the_lock_and_is_so802(loader):
    findings: list[Finding] = []
    merge_findings(findings, _trace("AccessExclusiveLock", ["products_product"]), loader)
    assert [(f.code, f.name, f.severity) for f in findings] == [
        ("SO802", "observed-rewrite", Severity.WARNING)
    ]
    assert 'rewrote "products_product"' in findings[0].message


def test_a_reported_operation_gets_no_second_finding(loader):
    static = Finding(
        "SO206",
        "alter-column-type",
        Severity.ERROR,
        "type change",
        app="products",
        migration="0002_product_category",
        operation=1,
    )
    findings = [static]
    merge_findings(findings, _trace("AccessExclusiveLock", ["products_product"]), loader)
    assert findings == [static]
