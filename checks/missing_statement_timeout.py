"""SO402 missing-statement-timeout: a slow statement holds a blocking lock with no time limit.

## What it does
Flags a migration that rewrites or scans an existing table (a type change,
a validated constraint, ``SET NOT NULL``, an index build, an ``UPDATE``)
while holding a lock that blocks reads or writes, when no ``SET
statement_timeout`` / ``SET LOCAL statement_timeout`` ran earlier in the
migration. One finding per migration, naming each table with the strongest lock
taken on it. Silent with ``assume-timeouts = true`` in ``[tool.schemaops]``.

## Why is this bad?
The statement's time grows with the table: on production data a rewrite
that took a second in CI can take an hour, and the lock blocks the
application for all of it. A ``statement_timeout`` caps the damage: the
statement is cancelled, the migration rolls back, and the team picks a safer
recipe instead of watching an outage.

## Example
```python
operations = [migrations.AlterField("order", "amount", models.BigIntegerField())]
```

## Use instead
```python
operations = [
    migrations.RunSQL("SET LOCAL statement_timeout = '1h'", reverse_sql=migrations.RunSQL.noop),
    migrations.AlterField("order", "amount", models.BigIntegerField()),
]
```
better still, avoid the rewrite (see the lock rules' recipes).

## References
- https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-STATEMENT-TIMEOUT
- squawk ``require-timeout-settings``; django-pg-zero-downtime-migrations ``STATEMENT_TIMEOUT``
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.checks import _timeouts
from schemaops.findings import Finding, Severity
from schemaops.rules import MigrationContext, Rule

DEFAULT_VALUE = "1h"  # when [tool.schemaops] statement-timeout is "0" (off)


class MissingStatementTimeout(Rule):
    code = "SO402"
    name = "missing-statement-timeout"
    summary = "A slow statement holds a blocking lock without statement_timeout"
    severity = Severity.INFO
    category = "timeouts"

    def check_migration(self, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.target.assume_timeouts:
            return
        found = [e for e in _timeouts.exposures(ctx, "statement_timeout") if e.slow]
        if not found:
            return
        grouped = _timeouts.groups(found)
        configured = ctx.target.statement_timeout
        value = configured if _timeouts.enables(configured) else DEFAULT_VALUE
        yield self.finding(
            found[0].operation,
            f"{ctx.app_label}.{ctx.name} rewrites or scans {_timeouts.claims(grouped, 'under')} "
            "without statement_timeout: on a large table the lock lasts as long as the statement",
            lock=_timeouts.lock_text(grouped),
            recipe=_timeouts.recipe(ctx, "statement_timeout", value),
        )
