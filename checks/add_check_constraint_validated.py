"""SO205 add-check-constraint-validated: a CHECK constraint scans the table under ACCESS EXCLUSIVE.

## What it does
Flags ``AddConstraint(CheckConstraint)`` on an existing table, and ``ALTER
TABLE ... ADD CONSTRAINT ... CHECK`` without ``NOT VALID`` in ``RunSQL``.
Also the CHECK Django adds on its own for ``PositiveIntegerField``,
``PositiveSmallIntegerField`` and ``PositiveBigIntegerField`` (``"col" >=
0``): an ``AlterField`` from ``IntegerField`` to one of them, or an
``AddField`` of one, validates it against every row. Tables created earlier
in the same migration are exempt.

## Why is this bad?
Adding a validated CHECK constraint takes ACCESS EXCLUSIVE on the table and
keeps it while every row is checked: reads and writes wait for the whole scan.

## Example
```python
operations = [
    migrations.AddConstraint(
        "order", models.CheckConstraint(condition=models.Q(amount__gte=0), name="amount_gte_0")
    ),
]
```

## Use instead
``AddConstraintNotValid`` (``django.contrib.postgres.operations``) adds the
constraint without checking existing rows (a brief lock; new rows are
checked from then on), then ``ValidateConstraint`` in a later migration
scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-VALIDATE-CONSTRAINT
- https://docs.djangoproject.com/en/stable/ref/contrib/postgres/operations/#adding-constraints-without-enforcing-validation
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib.postgres.operations import AddConstraintNotValid
from django.db import migrations

from schemaops.checks._lockmap_sql import builtin_check
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.remedy.sql import fix_hint, statement_recipe
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands
from schemaops.stats.model import Step

SCAN = "while every row is checked"
HINT = "Add the CHECK NOT VALID, then VALIDATE CONSTRAINT in the next migration"


class AddCheckConstraintValidated(Rule):
    code = "SO205"
    name = "add-check-constraint-validated"
    summary = "A CHECK constraint is validated while the table is locked"
    category = "locking"
    operations = (migrations.AddConstraint, migrations.AddField, migrations.AlterField)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if isinstance(op, migrations.AddField | migrations.AlterField):
            yield from self._builtin_check(ctx, op)
            return
        constraint = op.constraint
        if ctx.new_table or isinstance(op, AddConstraintNotValid):
            return
        if type(constraint).__name__ != "CheckConstraint":
            return
        yield self.finding(
            ctx,
            f"AddConstraint {constraint.name} checks every row of {ctx.table} "
            f"({ctx.model_name}) under ACCESS EXCLUSIVE: reads and writes wait for the scan",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, SCAN),
            blocking=BlockingStep(Step.CHECK_VALIDATION, ctx.table),
            recipe=fix_hint(ctx.app_label, ctx.migration.name, HINT),
        )

    def _builtin_check(self, ctx: OperationContext, op: Any) -> Iterator[Finding]:
        """A positive-integer field's own CHECK, validated by ADD COLUMN / ADD CONSTRAINT."""
        old = ctx.field_before(op.name) if isinstance(op, migrations.AlterField) else None
        if ctx.new_table or not builtin_check(op.field):
            return
        if old is not None and builtin_check(old):
            return
        column = ctx.column(op.name, op.field)
        verb = "turns" if old is not None else "adds"
        yield self.finding(
            ctx,
            f"{type(op).__name__} {ctx.model_name}.{op.name} {verb} {ctx.table}.{column} into a "
            f"{type(op.field).__name__}: Django adds CHECK ({column} >= 0) and PostgreSQL checks "
            "every row under ACCESS EXCLUSIVE: reads and writes wait for the scan",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, SCAN),
            recipe=fix_hint(ctx.app_label, ctx.migration.name, HINT),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if ctx.is_new_table(table) or cmd.subtype.name != "AT_AddConstraint":
                continue
            con = cmd.def_
            if con.contype == CONSTR.CONSTR_CHECK and not con.skip_validation:
                yield self._sql_finding(ctx, str(table), cmd)

    def _sql_finding(self, ctx: StatementContext, table: str, cmd: Any) -> Finding:
        name = cmd.def_.conname or f"{table}_check"
        return self.finding(
            ctx,
            f"ADD CONSTRAINT {name} CHECK without NOT VALID checks every row of {table} under "
            "ACCESS EXCLUSIVE",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, SCAN),
            blocking=BlockingStep(Step.CHECK_VALIDATION, table),
            recipe=statement_recipe(ctx.sql) or f"{HINT} (name it: {name})",
        )
