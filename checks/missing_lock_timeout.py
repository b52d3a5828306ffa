"""SO401 missing-lock-timeout: a migration waits for a blocking lock with no time limit.

## What it does
Flags a migration whose operations take a lock that blocks reads or writes
(ACCESS EXCLUSIVE, EXCLUSIVE, SHARE ROW EXCLUSIVE, SHARE) on a table that
already exists, when no ``SET lock_timeout`` / ``SET LOCAL lock_timeout``
ran earlier in the migration. One finding per migration, naming each
table with the strongest lock taken on it. ``SET LOCAL`` counts only inside a
transaction (an atomic migration). Tables created in the same migration are
exempt. Silent with ``assume-timeouts = true`` in ``[tool.schemaops]``, for
teams that apply migrations with ``schemaops migrate``, or that set
``lock_timeout`` for the migration role or in the connection ``OPTIONS``.

## Why is this bad?
A DDL statement waits for its lock behind every transaction that already
touches the table, a slow report or an idle-in-transaction session, for as
long as they last. While it waits, every new query on the table queues
behind it, reads too for ACCESS EXCLUSIVE: a one-millisecond ``ALTER TABLE``
becomes a minutes-long outage. A short ``lock_timeout`` makes the migration
fail fast instead, so it can be retried when the table is quiet.

## Example
```python
operations = [migrations.AddField("order", "note", models.TextField(null=True))]
```

## Use instead
```python
operations = [
    migrations.RunSQL("SET LOCAL lock_timeout = '5s'", reverse_sql=migrations.RunSQL.noop),
    migrations.AddField("order", "note", models.TextField(null=True)),
]
```
and retry the deploy when it times out; ``schemaops migrate`` does both.

## References
- https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT
- https://postgres.ai/blog/20210923-zero-downtime-postgres-schema-migrations-lock-timeout-and-retries
- squawk ``require-timeout-settings``; strong_migrations ``lock_timeout``; eugene E9
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.checks import _timeouts
from schemaops.findings import Finding, Severity
from schemaops.rules import MigrationContext, Rule


class MissingLockTimeout(Rule):
    code = "SO401"
    name = "missing-lock-timeout"
    summary = "A migration takes a blocking lock without lock_timeout"
    severity = Severity.WARNING
    category = "timeouts"

    def check_migration(self, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.target.assume_timeouts:
            return
        found = _timeouts.exposures(ctx, "lock_timeout")
        if not found:
            return
        grouped = _timeouts.groups(found)
        yield self.finding(
            found[0].operation,
            f"{ctx.app_label}.{ctx.name} takes {_timeouts.claims(grouped)} without lock_timeout: "
            f"while it waits behind a long transaction, {_timeouts.queued(grouped)} "
            "queues behind it",
            lock=_timeouts.lock_text(grouped),
            recipe=_timeouts.recipe(ctx, "lock_timeout", ctx.target.lock_timeout),
        )
