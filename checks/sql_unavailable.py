"""SO903 sql-unavailable: an operation whose SQL schemaops could not generate.

## What it does
Flags an operation when schemaops could not produce the SQL it runs
offline. For a project's own ``Operation`` subclass, or one from a
third-party package, its ``database_forwards`` needs a live connection,
raised an error, or runs Python code. For one of Django's own operations it
is a gap in schemaops (a default value it could not quote, say): the finding
says so rather than letting ``--sql`` and the rules stay silent. Subclasses
of ``RunPython`` are left to the RunPython rules.

## Why is this bad?
Every lock and rewrite rule reads either a Django operation it knows or the
SQL an operation emits. For this operation it had neither, so nothing was
checked: it may take an ACCESS EXCLUSIVE lock or rewrite a table and the
check still passes. This finding says so instead of staying silent.

## Example
```python
from psqlextra.backend.migrations.operations import PostgresAddRangePartition

operations = [PostgresAddRangePartition("event", "2024_q1", from_values="2024-01-01", ...)]
```

## Use instead
See what it really locks on a scratch database: ``schemaops trace APP
MIGRATION``. Where that is not good enough, write the SQL as a ``RunSQL``
(which every rule reads), or suppress this finding with the reason you
trust the operation.

## References
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#writing-your-own
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations
from django.db.migrations.operations.base import Operation

from schemaops.findings import Finding, Severity
from schemaops.rules import OperationContext, Rule


class SQLUnavailable(Rule):
    code = "SO903"
    name = "sql-unavailable"
    summary = "An operation's SQL could not be generated, so no rule read it"
    severity = Severity.INFO
    category = "meta"
    operations = (Operation,)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        error = ctx.step.sql_error
        if not error or isinstance(op, migrations.RunPython):
            return
        mig = ctx.migration
        kind = f"{type(op).__module__}.{type(op).__qualname__}"
        gap = (
            "; this is a gap in schemaops, please report it"
            if type(op).__module__.startswith("django.")
            else ""
        )
        yield self.finding(
            ctx,
            f"{type(op).__name__} in {mig.app_label}.{mig.name}: schemaops could not generate "
            f"its SQL ({error}), so no lock or rewrite rule checked it{gap}",
            recipe=f"# see the locks {kind} really takes, on a scratch database:\n"
            f"schemaops trace {mig.app_label} {mig.name}",
        )
