"""SO902 unused-suppression: a ``# schemaops: ignore[...]`` comment that does nothing useful.

## What it does
Audits every suppression comment in the checked migration files and flags one
that suppressed no finding in this run, names a rule that does not exist, or
gives no reason (a suppression without a reason does not count, so the
finding it meant to silence is still reported).

Comments naming only rules that this run does not enable (``--select``,
``ignore``) are left alone: nothing could have used them.

## Why is this bad?
A stale suppression is a landmine: it silenced a problem once, the operation
changed, and the next dangerous change on those lines passes review unseen.
A typo in a code (``SO10l``) silences nothing while looking as if it does.

## Example
```python
operations = [
    # schemaops: ignore[SO201] table has 200 rows
    migrations.AddField("order", "note", models.TextField(null=True)),  # no index here
]
```

## Use instead
Delete the comment, or fix the code it names, or add the missing reason:
```python
migrations.RemoveField("order", "legacy"),  # schemaops: ignore[SO101] unused since v41
```

## References
- squawk ``unused-ignore``: https://squawkhq.com/docs/rules
- ruff ``RUF100`` unused-noqa: https://docs.astral.sh/ruff/rules/unused-noqa/
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from schemaops import source
from schemaops.findings import Finding, Location, Severity
from schemaops.rules import MigrationContext, Rule
from schemaops.selection import relative


class UnusedSuppression(Rule):
    code = "SO902"
    name = "unused-suppression"
    summary = "A suppression comment silenced nothing, names no rule, or has no reason"
    severity = Severity.WARNING
    category = "meta"

    # Called by the linter once every finding of the run has been filtered.
    def audit(self, ctx: MigrationContext, path: str, active: set[str]) -> Iterator[Finding]:
        try:
            if b"schemaops:" not in Path(path).read_bytes():
                return
        except OSError:
            return
        src = source.read(path, len(ctx.step.migration.operations))
        # Suppressions of SO902 itself last, once they have waived the others.
        for sup in sorted(src.suppressions, key=lambda s: bool({self.code, self.name} & s.codes)):
            problem = self._problem(sup, active)
            if problem is None:
                continue
            index = _operation_at(src, sup.line)
            waiver = src.suppression_for(index, self.code, self.name)
            if waiver is not None and waiver is not sup:
                waiver.used = True
                continue
            message, recipe = problem
            finding = self.finding(ctx, message, recipe=recipe)
            finding.operation = index
            finding.location = Location(relative(path, Path.cwd()), sup.line)
            yield finding

    def _problem(self, sup: source.Suppression, active: set[str]) -> tuple[str, str] | None:
        from schemaops.checks import lookup

        listed = ", ".join(sorted(sup.codes)) or "nothing"
        unknown = sorted(c for c in sup.codes if lookup(c) is None)
        example = next(iter(sorted(sup.codes - set(unknown))), "SO101")
        if not sup.codes or unknown:
            return (
                f"suppression on line {sup.line} names unknown rule(s) "
                f"{', '.join(unknown) or '(none)'}: it silences nothing",
                "List the rules with `schemaops rules`, then write e.g. "
                f"# schemaops: ignore[{example}] <why this is safe here>",
            )
        if not sup.reason:
            return (
                f"suppression of {listed} on line {sup.line} gives no reason, so it does not "
                "count and the finding is still reported",
                f"# schemaops: ignore[{listed}] <why this is safe here, for the reviewer>",
            )
        if not sup.used and sup.codes & active:
            return (
                f"suppression of {listed} on line {sup.line} suppressed nothing in this run",
                f"Delete the comment; the operations it covers no longer trigger {listed}.",
            )
        return None


def _operation_at(src: source.MigrationSource, line: int) -> int | None:
    """The operation a comment on ``line`` covers (the line above it, or inside it)."""
    for index, (first, last) in enumerate(src.spans):
        if first - 1 <= line <= last:
            return index
    return None
