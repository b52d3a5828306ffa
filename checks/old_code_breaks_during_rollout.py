"""SO803 old-code-breaks-during-rollout: the running release failed on the migrated schema.

## What it does
Reported by ``schemaops trace --compat`` and ``schemaops check --trace``. The
rollout was replayed on a scratch database: after the pre-deploy migrations
ran, the old release (its models rendered from the migration state before
them) inserted, read, updated and deleted a row of a table the migrations
touch, and read a row the new release wrote. PostgreSQL refused one of those
statements, or the old code read a NULL where it declares NOT NULL.

## Why is this bad?
During a rollout the previous release keeps serving traffic until the last
old process is gone, often for minutes. Every request of it that reaches
that statement fails: the deploy is an outage of that feature, and a rollback
of the code does not help while the schema stays migrated.

## Example
A pre-deploy ``RemoveField("order", "legacy_ref")``: the old code still
names ``legacy_ref`` in every ``SELECT`` and ``INSERT`` of ``orders_order``;
the replay reports ``column "legacy_ref" does not exist``.

## Use instead
Expand, then contract: make the change additive in the pre-deploy migration
(a nullable column, a ``db_default``, a state-only removal with
``SeparateDatabaseAndState``) and move the destructive step into a
post-deploy migration (``deploy_phase = "post"``), which runs once no old code
is left. The finding names the statement and PostgreSQL's error.

## References
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#separatedatabaseandstate
- https://www.postgresql.org/docs/current/ddl-alter.html
"""

from __future__ import annotations

from schemaops.findings import Severity
from schemaops.rules import Rule


class OldCodeBreaksDuringRollout(Rule):
    code = "SO803"
    name = "old-code-breaks-during-rollout"
    summary = "The replay saw the old release fail after the pre-deploy migrations"
    severity = Severity.ERROR
    category = "meta"
    # Findings are made by schemaops.trace.compat from a replayed rollout.
