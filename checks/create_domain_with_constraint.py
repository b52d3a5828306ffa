"""SO605 create-domain-with-constraint: a domain is created with a CHECK or NOT NULL constraint.

## What it does
Flags ``CREATE DOMAIN`` with a ``CHECK`` or ``NOT NULL`` constraint in
``RunSQL``. A domain without constraints (a type alias) passes.

## Why is this bad?
The constraint is cheap today, while no column uses the domain. Changing
it later is not: a new or changed domain constraint is checked against
every column declared with the domain under a SHARE lock on each of their
tables (writes wait), and there is no ``NOT VALID`` + ``VALIDATE`` escape,
because validating a domain constraint takes the same lock. Table CHECK
constraints can be changed online.

## Example
```python
operations = [
    migrations.RunSQL("CREATE DOMAIN email AS text CHECK (VALUE ~ '@')"),
]
```

## Use instead
```python
operations = [
    migrations.RunSQL("CREATE DOMAIN email AS text"),
    # and on each column declared email:
    migrations.RunSQL(
        "ALTER TABLE shop_customer ADD CONSTRAINT shop_customer_email_check CHECK (email ~ '@')"
    ),
]
```

## References
- https://www.postgresql.org/docs/current/sql-createdomain.html
- https://squawkhq.com/docs/ban-create-domain-with-constraint
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.findings import Finding, Severity
from schemaops.rules import Rule, StatementContext
from schemaops.statements import CONSTR, names

KINDS = {CONSTR.CONSTR_CHECK: "CHECK", CONSTR.CONSTR_NOTNULL: "NOT NULL"}


class CreateDomainWithConstraint(Rule):
    code = "SO605"
    name = "create-domain-with-constraint"
    summary = "A domain is created with a constraint that cannot be changed online"
    category = "hygiene"
    severity = Severity.WARNING
    statements = ("CreateDomainStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        found = [c for c in node.constraints or () if c.contype in KINDS]
        if not found:
            return
        domain = names(node.domainname)[-1]
        kinds = " and ".join(dict.fromkeys(KINDS[c.contype] for c in found))
        yield self.finding(  # the remedy (advice: table CHECKs on the columns) is the planner's
            ctx,
            f"CREATE DOMAIN {domain} has a {kinds} constraint: changing it later locks every "
            "table using the domain against writes while all their rows are checked",
        )
