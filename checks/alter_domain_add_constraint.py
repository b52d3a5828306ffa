"""SO220 alter-domain-add-constraint: a domain constraint is checked against every column using it.

## What it does
Flags ``ALTER DOMAIN ... ADD CONSTRAINT`` (unless ``NOT VALID``), ``ALTER
DOMAIN ... SET NOT NULL`` and ``ALTER DOMAIN ... VALIDATE CONSTRAINT`` in
``RunSQL``. A domain created earlier in the same migration is exempt. The
tables named in the lock are the ones whose Django field's ``db_type`` is
the domain; tables made by ``RunSQL`` are not known.

## Why is this bad?
PostgreSQL checks every value of every column declared with the domain, and
for that takes a SHARE lock on each of their tables: writes to all of them
wait for all the scans. Unlike a table constraint, a domain constraint has
no lighter path: ``VALIDATE CONSTRAINT`` on a domain takes the same SHARE
lock (PostgreSQL 15), so ``NOT VALID`` only postpones the problem.

## Example
```python
operations = [
    migrations.RunSQL("ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE ~ '@')"),
]
```

## Use instead
Add the domain constraint ``NOT VALID`` (no scan: new values are checked
from then on) and prove the existing values with a table CHECK on each
column of the domain, added ``NOT VALID`` and validated in the next
migration under SHARE UPDATE EXCLUSIVE (reads and writes go on), then
dropped; ``schemaops fix`` writes these migrations. From PostgreSQL 19,
``ALTER DOMAIN ... VALIDATE CONSTRAINT`` itself takes SHARE UPDATE
EXCLUSIVE and is not flagged.
```python
migrations.RunSQL("ALTER DOMAIN email ADD CONSTRAINT email_at CHECK (VALUE ~ '@') NOT VALID"),
migrations.RunSQL(
    "ALTER TABLE shop_customer ADD CONSTRAINT shop_customer_email_email_at"
    " CHECK (email ~ '@') NOT VALID"
),
# next migration:
migrations.RunSQL("ALTER TABLE shop_customer VALIDATE CONSTRAINT shop_customer_email_email_at"),
migrations.RunSQL("ALTER TABLE shop_customer DROP CONSTRAINT shop_customer_email_email_at"),
```

## References
- https://www.postgresql.org/docs/current/sql-alterdomain.html
- https://squawkhq.com/docs/ban-alter-domain-with-add-constraint
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.checks._analysis import created_earlier
from schemaops.checks._lockmap import StateSchema, statement_locks
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.remedy.sqlops import DOMAIN_VALIDATE_ONLINE
from schemaops.rules import Rule, StatementContext
from schemaops.statements import names

ACTIONS = {"C": "ADD CONSTRAINT", "O": "SET NOT NULL", "V": "VALIDATE CONSTRAINT"}


class AlterDomainAddConstraint(Rule):
    code = "SO220"
    name = "alter-domain-add-constraint"
    summary = "A domain constraint is checked with every table using the domain locked"
    category = "locking"
    statements = ("AlterDomainStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        action = ACTIONS.get(node.subtype)
        if action is None or (node.subtype == "C" and node.def_.skip_validation):
            return
        domain = names(node.typeName)[-1]
        if created_earlier(ctx, "type", domain):
            return
        pg_version = ctx.migration.target.pg_version
        if node.subtype == "V" and pg_version >= DOMAIN_VALIDATE_ONLINE:
            return  # PostgreSQL 19 validates a domain under SHARE UPDATE EXCLUSIVE
        schema = StateSchema(ctx.migration.state, pg_version)
        claims = statement_locks(node, schema, pg_version)
        scan = "while every value of the domain is checked"
        lock = "; ".join(mode.on(table, scan) for table, mode, _slow in claims)
        share = Lock.SHARE
        yield self.finding(
            ctx,
            f"ALTER DOMAIN {domain} {action} checks every column declared {domain}, "
            f"with SHARE locks on {', '.join(t for t, _m, _s in claims) or 'each of their tables'}"
            ": writes wait for all the scans, and a domain has no online VALIDATE",
            lock=lock
            or f"{share.value} on every table using {domain} (blocks {share.blocks}) " + scan,
        )  # the remedy (NOT VALID, each column's values proved by a table CHECK) is the planner's
