"""SO205 add-check-constraint-validated: a CHECK constraint scans the table under ACCESS EXCLUSIVE.

## What it does
Flags ``AddConstraint(CheckConstraint)`` on an existing table, and ``ALTER
TABLE ... ADD CONSTRAINT ... CHECK`` without ``NOT VALID`` in ``RunSQL``.
Tables created earlier in the same migration are exempt.

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

from schemaops.checks._lockrecipes import NOT_VALID_IMPORTS, Code, run_sql, validate_sql, variant
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.remedy.code import join_steps, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, ident
from schemaops.stats.model import Step

SCAN = "while every row is checked"
NEXT = "# then, in the next migration:"


class AddCheckConstraintValidated(Rule):
    code = "SO205"
    name = "add-check-constraint-validated"
    summary = "A CHECK constraint is validated while the table is locked"
    category = "locking"
    operations = (migrations.AddConstraint,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        constraint = op.constraint
        if ctx.new_table or isinstance(op, AddConstraintNotValid):
            return
        if type(constraint).__name__ != "CheckConstraint":
            return
        code = Code()
        rendered = code.value(constraint)
        imports = code.header(NOT_VALID_IMPORTS)
        name = f"{constraint.name}_not_valid"
        first = migration_code(
            ctx,
            [f'AddConstraintNotValid("{op.model_name}", {rendered}),'],
            name=name,
            imports=imports,
        )
        second = migration_code(
            ctx,
            [f'ValidateConstraint("{op.model_name}", name="{constraint.name}"),'],
            name=f"{constraint.name}_validate",
            imports=imports,
            after=name,
        )
        yield self.finding(
            ctx,
            f"AddConstraint {constraint.name} checks every row of {ctx.table} "
            f"({ctx.model_name}) under ACCESS EXCLUSIVE: reads and writes wait for the scan",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, SCAN),
            blocking=BlockingStep(Step.CHECK_VALIDATION, ctx.table),
            recipe=join_steps(first, NEXT, second),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if ctx.is_new_table(table) or cmd.subtype.name != "AT_AddConstraint":
                continue
            con = cmd.def_
            if con.contype == CONSTR.CONSTR_CHECK and not con.skip_validation:
                yield self._sql_finding(ctx, str(table), cmd)

    def _sql_finding(self, ctx: StatementContext, table: str, cmd: Any) -> Finding:
        import copy

        con = cmd.def_
        name = con.conname or f"{table}_check"
        clone = copy.deepcopy(cmd)
        clone.def_.skip_validation, clone.def_.initially_valid = True, False
        clone.def_.conname = name
        first = migration_code(
            ctx.operation,
            [
                run_sql(
                    variant(ctx.node, cmds=(clone,)),
                    f"ALTER TABLE {ident(table)} DROP CONSTRAINT IF EXISTS {ident(name)}",
                )
            ],
            name=f"{name}_not_valid",
        )
        second = migration_code(
            ctx.operation,
            [validate_sql(table, name)],
            name=f"{name}_validate",
            after=f"{name}_not_valid",
        )
        return self.finding(
            ctx,
            f"ADD CONSTRAINT {name} CHECK without NOT VALID checks every row of {table} under "
            "ACCESS EXCLUSIVE",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, SCAN),
            blocking=BlockingStep(Step.CHECK_VALIDATION, table),
            recipe=join_steps(first, NEXT, second),
        )
