"""SO302 runsql-without-reverse: raw SQL that cannot be rolled back.

## What it does
Flags ``RunSQL`` without ``reverse_sql``. When every statement has an
obvious inverse (``CREATE TABLE``/``INDEX``/``VIEW``/``TRIGGER``/``SEQUENCE``,
``ADD COLUMN``, ``ADD CONSTRAINT``, ``SET DEFAULT``...), the remedy
(``schemaops fix``) writes the ``reverse_sql`` for you.

## Why is this bad?
``migrate app <previous>`` raises ``IrreversibleError`` at this migration,
so a bad deploy cannot be rolled back past it, exactly when a quick rollback
matters most. Django cannot guess the inverse of raw SQL.

## Example
```python
operations = [migrations.RunSQL("CREATE INDEX CONCURRENTLY order_code_idx ON shop_order (code)")]
```

## Use instead
```python
migrations.RunSQL(
    "CREATE INDEX CONCURRENTLY order_code_idx ON shop_order (code)",
    reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS order_code_idx",
)
```
When undoing is not needed (a data fix), say so: ``reverse_sql=migrations.RunSQL.noop``.

## References
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#runsql
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.checks._data import runsql_texts
from schemaops.findings import Finding, Severity
from schemaops.rules import OperationContext, Rule


class RunSQLWithoutReverse(Rule):
    code = "SO302"
    name = "runsql-without-reverse"
    summary = "RunSQL without reverse_sql makes the migration irreversible"
    severity = Severity.WARNING
    category = "rollback"
    operations = (migrations.RunSQL,)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if op.reverse_sql is not None or not runsql_texts(op.sql):
            return
        yield self.finding(  # the remedy (reverse_sql written when known) is the planner's
            ctx,
            f"RunSQL has no reverse_sql: rolling back past {ctx.app_label}."
            f"{ctx.migration.name} raises IrreversibleError (write reverse_sql, or "
            "reverse_sql=migrations.RunSQL.noop when there is nothing to undo)",
        )
