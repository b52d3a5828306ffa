"""SO905 rule-failed: a rule raised an error on an operation, so it did not check it.

## What it does
Reports an operation that one of the rules could not read: the rule raised an
exception on it (odd input such as ``RunSQL(42)``, or a custom operation whose
``deconstruct()`` raises). The rest of the check goes on; only that rule on
that operation is missing from the report.

## Why is this bad?
The operation was not checked by that rule, so a lock or a rewrite it would
have flagged may go unnoticed. Usually the operation itself is wrong (Django
would refuse it too); otherwise the rule has a bug.

## Example
```python
migrations.RunSQL(42)   # RunSQL takes a string or a list of strings
```

## Use instead
Fix the operation so Django can run it. When the operation is right, the
rule has a bug: run with ``--ignore`` and the rule's code until it is fixed,
and report it.

## References
- https://docs.djangoproject.com/en/stable/ref/migration-operations/
"""

from __future__ import annotations

from typing import Any

from schemaops.findings import Finding, Severity
from schemaops.rules import Rule


class RuleFailed(Rule):
    code = "SO905"
    name = "rule-failed"
    summary = "A rule raised an error on an operation, so it did not check it"
    severity = Severity.ERROR
    category = "meta"

    def failed(self, crashed: Rule, ctx: Any, exc: BaseException) -> Finding:
        """The finding for ``crashed`` raising ``exc`` on ``ctx`` (an operation or statement)."""
        return self.failed_all([(crashed, ctx, exc)])

    def failed_all(self, crashes: list[tuple[Rule, Any, BaseException]]) -> Finding:
        """One finding for the rules that raised on the same operation: ``(rule, ctx, exc)``."""
        _, ctx, exc = crashes[0]
        codes = ", ".join(rule.code for rule, _, _ in crashes)
        names = "rule " + " ".join((crashes[0][0].code, crashes[0][0].name))
        if len(crashes) > 1:
            names = f"rules {codes}"
        first = (str(exc).strip().splitlines() or [""])[0]
        return self.finding(
            ctx,
            f"{names} could not check this operation ({type(exc).__name__}: {first})",
            recipe="# fix the operation; if it is right, the rule has a bug: report it and\n"
            f"schemaops check --ignore {codes.replace(', ', ' --ignore ')}",
        )
