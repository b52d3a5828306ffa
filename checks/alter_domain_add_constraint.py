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
Put the rule on each column as a table CHECK constraint, added ``NOT
VALID`` (a brief lock, no scan) and validated in the next migration under
SHARE UPDATE EXCLUSIVE (reads and writes go on):
```python
migrations.RunSQL(
    "ALTER TABLE shop_customer ADD CONSTRAINT shop_customer_email_check"
    " CHECK (email ~ '@') NOT VALID"
),
# next migration:
migrations.RunSQL("ALTER TABLE shop_customer VALIDATE CONSTRAINT shop_customer_email_check"),
```

## References
- https://www.postgresql.org/docs/current/sql-alterdomain.html
- https://squawkhq.com/docs/ban-alter-domain-with-add-constraint
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.checks._lockmap import StateSchema, statement_locks
from schemaops.checks._objects import created_earlier, table_checks
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.remedy.code import join_steps, migration_code
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
            recipe=self._recipe(ctx, schema, domain),
        )

    def _recipe(self, ctx: StatementContext, schema: StateSchema, domain: str) -> str:
        node = ctx.node
        columns = [(table, column) for table, _model, column in schema.type_columns(domain)]
        if node.subtype == "C":
            condition, suffix = node.def_.raw_expr, str(node.def_.conname or "check")
        elif node.subtype == "O":
            condition, suffix = None, "not_null"
        else:
            condition, suffix = None, ""
        if not columns or node.subtype == "V":
            return "\n".join(
                [
                    "# no online path on a domain: enforce the rule on each column declared "
                    f"{domain} instead,",
                    "#    ALTER TABLE <table> ADD CONSTRAINT <name> CHECK (<rule>) NOT VALID",
                    "# and in the next migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):",
                    "#    ALTER TABLE <table> VALIDATE CONSTRAINT <name>",
                ]
            )
        add, validate = table_checks(columns, condition, suffix)
        first = f"check_{domain}_columns"
        return join_steps(
            f"# 1. instead of the domain constraint: a NOT VALID CHECK on each column of {domain}",
            migration_code(ctx.operation, add, name=first),
            "# 2. validate them (SHARE UPDATE EXCLUSIVE: reads and writes go on)",
            migration_code(ctx.operation, validate, name=f"validate_{domain}_columns", after=first),
        )
