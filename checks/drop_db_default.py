"""SO112 drop-db-default: a database default the old code relies on is removed.

## What it does
Flags ``AlterField`` that removes a field's ``db_default`` on an existing
table, and ``ALTER TABLE ... ALTER COLUMN ... DROP DEFAULT`` in ``RunSQL`` on
a column whose field has a ``db_default`` in the migration state. An error
when the column is NOT NULL, a warning when it is nullable.

## Why is this bad?
For a field with ``db_default``, Django writes ``DEFAULT`` in its INSERTs
when the code gives no value, and lets the database fill the column. The
previous release, still running during the rollout, keeps doing so: once
the default is gone, its INSERTs fail with a NOT NULL violation (or,
for a nullable column, silently store NULL instead of the default).

## Example
```python
field = models.CharField(max_length=20, default="new")  # was db_default="new"
operations = [migrations.AlterField("order", "status", field)]
```

## Use instead
Deploy the code that always sends a value (a Python ``default``) first, and
remove the ``db_default`` in a post-deploy migration (``deploy_phase = "post"``).

## References
- https://docs.djangoproject.com/en/stable/ref/models/fields/#db-default
- https://www.postgresql.org/docs/current/sql-altertable.html
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.checks._data import has_db_default, model_at
from schemaops.checks._expand_contract import alter_after_deploy
from schemaops.findings import Finding, Severity
from schemaops.locks import Lock
from schemaops.plan import column_for
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import AT, alter_commands

LOCK_NOTE = "briefly (no rewrite)"


class DropDbDefault(Rule):
    code = "SO112"
    name = "drop-db-default"
    summary = "A database default the running code relies on is removed"
    category = "additive"
    operations = (migrations.AlterField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        old = ctx.field_before(op.name)
        if ctx.new_table or old is None or not has_db_default(old) or has_db_default(op.field):
            return
        column = ctx.column(op.name, op.field)
        result = "INSERTs fail" if not op.field.null else "INSERTs store NULL instead"
        yield self.finding(
            ctx,
            f"AlterField {ctx.model_name}.{op.name} removes the database default of "
            f"{ctx.table}.{column}: the running code's {result}",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, LOCK_NOTE),
            severity=None if not op.field.null else Severity.WARNING,
            recipe=alter_after_deploy(ctx, op, "always sends a value", "drop_db_default"),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype != AT.AT_ColumnDefault or cmd.def_ is not None or table is None:
                continue
            if ctx.is_new_table(table):
                continue
            model = model_at(ctx.operation, table)
            fields = model.fields.items() if model is not None else ()
            field = next((f for n, f in fields if column_for(n, f) == cmd.name), None)
            if field is None or not has_db_default(field):
                continue
            yield self.finding(
                ctx,
                f"DROP DEFAULT on {table}.{cmd.name} removes the db_default the running code "
                "relies on for its INSERTs",
                lock=Lock.ACCESS_EXCLUSIVE.on(table, LOCK_NOTE),
                severity=None if not field.null else Severity.WARNING,
                recipe="Deploy code that always sends a value first; move this statement into "
                'a post-deploy migration (deploy_phase = "post").',
            )
