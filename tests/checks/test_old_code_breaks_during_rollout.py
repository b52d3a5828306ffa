"""SO803 comes from a replayed rollout (real replays: tests/trace/test_compat_*.py)."""

from __future__ import annotations

from lintkit import APP, FakeLoader, make_migration

from schemaops.findings import Finding, Severity
from schemaops.trace.compat import OLD, PRE_DEPLOY, Break, CompatResult, PhaseReport
from schemaops.trace.compat_merge import merge_compat

KEY = (APP, "0002_change", 0)


def _result(release: str = OLD) -> CompatResult:
    brk = Break(
        release,
        PRE_DEPLOY,
        "shop.Order",
        "shop_order",
        "insert",
        'INSERT INTO "shop_order" ...',
        'column "legacy" of relation "shop_order" does not exist (SQLSTATE 42703)',
        [KEY],
    )
    phase = PhaseReport(PRE_DEPLOY, [f"{APP}.0002_change"], [OLD, "new"])
    return CompatResult(phases=[phase], breaks=[brk])


def _loader() -> FakeLoader:
    first = make_migration("0001_initial", [])
    return FakeLoader(
        [first, make_migration("0002_change", [], dependencies=[(APP, "0001_initial")])]
    )


def test_an_old_code_break_no_rule_explains_is_so803():
    findings: list[Finding] = []
    merge_compat(findings, _result(), _loader())
    (f,) = findings
    assert (f.code, f.name, f.severity) == (
        "SO803",
        "old-code-breaks-during-rollout",
        Severity.ERROR,
    )
    assert (f.app, f.migration, f.operation) == KEY
    assert f.message.startswith("the old code (the release before these migrations) fails after")
    assert f.evidence["statement"].startswith("INSERT INTO") and f.evidence["release"] == OLD


def test_a_break_an_additive_finding_explains_is_no_second_finding():
    claim = Finding(
        "SO101", "drop-column", Severity.ERROR, "drop", app=APP, migration="0002_change"
    )
    claim.operation = 0
    findings = [claim]
    merge_compat(findings, _result(), _loader())
    assert findings == [claim]
    assert claim.evidence["compat"].startswith("confirmed: the old code")
