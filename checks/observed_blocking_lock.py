"""SO801 observed-blocking-lock: a lock the trace saw that no rule reported.

## What it does
Reported by ``schemaops check --trace`` only. The migration ran on a scratch
database and one of its statements took a lock that blocks writes (or reads)
on a table that existed before, in an operation that no static rule flagged.

## Why is this bad?
The static rules describe what Django and PostgreSQL are known to do; the
trace is what this server did. A blocking lock nobody expected is exactly
what causes a surprise outage: every write on that table queues behind the
migration for as long as the statement (or its transaction) runs.

## Example
A custom operation whose SQL schemaops cannot read statically takes
``SHARE`` on ``orders_order``: the trace reports it as SO801.

## Use instead
Read the statement in the finding's evidence, then give the migration a
short ``lock_timeout`` (``schemaops migrate`` does), or rewrite the step in
its concurrent / ``NOT VALID`` form.

## References
- https://www.postgresql.org/docs/current/explicit-locking.html
"""

from __future__ import annotations

from schemaops.findings import Severity
from schemaops.rules import Rule


class ObservedBlockingLock(Rule):
    code = "SO801"
    name = "observed-blocking-lock"
    summary = "The trace saw a blocking lock that no rule reported"
    severity = Severity.INFO
    category = "meta"
    # Findings are made by schemaops.trace.merge from a real trace.
