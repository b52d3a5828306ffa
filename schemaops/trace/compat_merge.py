"""``schemaops check --trace``: hold the additive-only findings against the replayed rollout.

Every static finding of an ``additive`` or ``breaking`` rule (SO1xx: this
operation breaks the old or the new code during a rollout; not SO117, whose
break is a view), and SO106's error (a NOT NULL column left
behind that the new code no longer sends), whose migration was replayed is judged:

* the replay blamed a break on the same operation: ``evidence["compat"] =
  "confirmed: ..."`` with the release, phase, model and PostgreSQL's error;
* it did not: the finding is *contradicted*; its message ends with
  ``[compat: old and new code worked through the replayed rollout]`` (visible
  in every format and in the stable JSON contract) and the evidence says so.

A break no additive finding explains becomes a finding of its own: SO803
(old code) or SO804 (new code), on the first operation blamed for it.
"""

from __future__ import annotations

from typing import Any

from schemaops.findings import Finding, Location, Severity
from schemaops.source import location_of
from schemaops.trace.compat import Break, CompatResult
from schemaops.trace.compat_findings import break_finding, describe_break
from schemaops.trace.rollout import OperationRef

CONTRADICTED = " [compat: old and new code worked through the replayed rollout]"


BREAK_CATEGORIES = ("additive", "breaking")
# Outside those categories, SO106 state-only-removal claims a break in its error
# variant only: the kept NOT NULL column rejects the new code's INSERTs.
BREAK_WHEN_ERROR = {"SO106"}
# SO117 view-dependency: the break is a view dropped by CASCADE (or a migration that
# fails); the replay exercises the models' tables, not views, so it cannot judge it.
NOT_REPLAYED = {"SO117"}


def additive_codes() -> set[str]:
    """Codes of the rules whose findings claim that old or new code breaks."""
    from schemaops.rules import registered

    claims = {c for c, rule in registered().items() if rule.category in BREAK_CATEGORIES}
    return (claims | BREAK_WHEN_ERROR) - NOT_REPLAYED


def claims_break(f: Finding, codes: set[str]) -> bool:
    if f.code in BREAK_WHEN_ERROR:
        return f.severity is Severity.ERROR
    return f.code in codes


def merge_compat(findings: list[Finding], compat: CompatResult, loader: Any) -> None:
    """Mark additive findings confirmed/contradicted; append SO803/SO804 for the rest."""
    codes = additive_codes()
    blamed: dict[OperationRef, list[Break]] = {}
    for brk in compat.breaks:
        for ref in brk.suspects:
            blamed.setdefault(ref, []).append(brk)
    replayed = {tuple(name.split(".", 1)) for p in compat.phases for name in p.migrations}
    flagged: set[OperationRef] = set()
    for f in findings:
        if not claims_break(f, codes) or f.suppressed or (f.app, f.migration) not in replayed:
            continue
        ref = (f.app or "", f.migration or "", f.operation if f.operation is not None else -1)
        flagged.add(ref)
        breaks = blamed.get(ref)
        if breaks:
            f.evidence["compat"] = f"confirmed: {describe_break(breaks[0])}"
        elif compat.error is None:
            f.evidence["compat"] = "contradicted: old and new code worked in every phase"
            f.message += CONTRADICTED
    for brk in compat.breaks:
        if not any(ref in flagged for ref in brk.suspects):
            findings.append(break_finding(brk, _location(brk, loader)))


def _location(brk: Break, loader: Any) -> Location:
    """Where the first suspect operation of the break stands (empty: no suspect)."""
    if not brk.suspects:
        return Location()
    app, name, operation = brk.suspects[0]
    return location_of(loader.graph.nodes.get((app, name)), operation)
