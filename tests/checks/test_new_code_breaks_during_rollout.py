"""SO804 comes from a replayed rollout (real replays: tests/trace/test_compat_*.py)."""

from __future__ import annotations

from test_old_code_breaks_during_rollout import KEY, _loader, _result

from schemaops.findings import Finding, Severity
from schemaops.trace.compat import NEW
from schemaops.trace.compat_merge import merge_compat


def test_a_new_code_break_no_rule_explains_is_so804():
    findings: list[Finding] = []
    merge_compat(findings, _result(NEW), _loader())
    (f,) = findings
    assert (f.code, f.name, f.severity) == (
        "SO804",
        "new-code-breaks-during-rollout",
        Severity.ERROR,
    )
    assert (f.app, f.migration, f.operation) == KEY
    assert f.message.startswith("the new code (the release after them) fails after pre-deploy")
