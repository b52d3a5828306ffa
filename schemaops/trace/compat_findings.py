"""A replayed break as a finding: SO803 (old code) or SO804 (new code).

The finding points at the first operation blamed for the break (the
operations of that phase that name the model's table, else those schemaops
cannot read: SQL, Python, custom); the evidence carries the release, the
phase, the model, the statement Django sent and PostgreSQL's error.
"""

from __future__ import annotations

from typing import Any

from schemaops.findings import Finding, Location
from schemaops.rules import registered
from schemaops.trace.compat import OLD, RELEASE_WORDS, Break

# registered rules (checks/*_breaks_during_rollout.py), reached through the core's registry
OLD_CODE_BREAKS, NEW_CODE_BREAKS = "SO803", "SO804"


def break_finding(brk: Break, location: Location | None = None) -> Finding:
    rule = registered()[OLD_CODE_BREAKS if brk.release == OLD else NEW_CODE_BREAKS]
    app, migration, operation = brk.suspects[0] if brk.suspects else (None, None, None)
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        message=describe_break(brk),
        app=app,
        migration=migration,
        operation=operation,
        location=location or Location(),
        obj=f"{brk.release}:{brk.model}",
        evidence=evidence(brk),
    )


def describe_break(brk: Break) -> str:
    return (
        f"{RELEASE_WORDS[brk.release]} fails {brk.phase} on {brk.model} "
        f'(table "{brk.table}"): {brk.step}: {brk.error}'
    )


def evidence(brk: Break) -> dict[str, Any]:
    return {
        "release": brk.release,
        "phase": brk.phase,
        "model": brk.model,
        "statement": brk.statement,
        "error": brk.error,
        "blamed": [f"{a}.{m} op {o}" for a, m, o in brk.suspects],
    }
