"""SO804 new-code-breaks-during-rollout: the new release failed in a phase it must survive.

## What it does
Reported by ``schemaops trace --compat`` and ``schemaops check --trace``. The
rollout was replayed on a scratch database: the new release (its models
rendered from the migration state after every migration under test) inserted,
read, updated and deleted a row of a table the migrations touch, and read the
rows the old release wrote, once after the pre-deploy migrations (the new code
starts before the post-deploy ones have run) and once after the post-deploy
migrations. PostgreSQL refused one of those statements, or the new code read a
NULL where it declares NOT NULL.

## Why is this bad?
The new release starts serving as soon as the pre-deploy migrations are in;
the post-deploy migrations run only after the rollout. Code that needs a
post-deploy step (a table or column created only there), or that cannot
read what the old release keeps writing meanwhile, fails for the whole
rollout window, or for good when it is the post-deploy schema it cannot use.

## Example
A new model whose ``CreateModel`` sits in a post-deploy migration: the new
code queries ``shop_invoice`` before it exists and gets ``relation
"shop_invoice" does not exist``.

## Use instead
Create what the new code needs in a pre-deploy migration; keep only removals
(contract steps) in post-deploy ones. Let the new code write values the old
code can read (no NULL where the old model forbids it) until the old release
is gone.

## References
- https://docs.djangoproject.com/en/stable/howto/writing-migrations/
- https://www.postgresql.org/docs/current/ddl-alter.html
"""

from __future__ import annotations

from schemaops.findings import Severity
from schemaops.rules import Rule


class NewCodeBreaksDuringRollout(Rule):
    code = "SO804"
    name = "new-code-breaks-during-rollout"
    summary = "The replay saw the new release fail during or after the rollout"
    severity = Severity.ERROR
    category = "meta"
    # Findings are made by schemaops.trace.compat from a replayed rollout.
