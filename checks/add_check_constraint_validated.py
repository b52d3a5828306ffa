"""SO205 add-check-constraint-validated: a CHECK constraint scans the table under ACCESS EXCLUSIVE.

## What it does
Flags ``AddConstraint(CheckConstraint)`` on an existing table, and ``ALTER
TABLE ... ADD CONSTRAINT ... CHECK`` without ``NOT VALID`` in ``RunSQL``.
Also the CHECK Django adds on its own for ``PositiveIntegerField``,
``PositiveSmallIntegerField`` and ``PositiveBigIntegerField`` (``"col" >=
0``) and the project's subclasses of them: an ``AlterField`` from
``IntegerField`` to one of them, or an ``AddField`` of one, validates it
against every row. So does ``ALTER TABLE ... ADD COLUMN ... CHECK (...)`` in
``RunSQL``, even for a column that is all NULL. Tables created earlier in the
same migration are exempt.

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
scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on. A
column's CHECK has no NOT VALID form: add the column without it, then the
CHECK as a table constraint ``NOT VALID`` (the recipe writes both; for an
``AddField`` in a ``SeparateDatabaseAndState`` that keeps the field in the
state).

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-VALIDATE-CONSTRAINT
- https://docs.djangoproject.com/en/stable/ref/contrib/postgres/operations/#adding-constraints-without-enforcing-validation
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from django.contrib.postgres.operations import AddConstraintNotValid
from django.db import migrations

from schemaops.checks._lockmap_sql import builtin_check
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.remedy.sql import fix_hint, statement_recipe
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints
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
            recipe=_builtin_check_recipe(ctx, op),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if ctx.is_new_table(table):
                continue
            if cmd.subtype.name == "AT_AddConstraint":
                con = cmd.def_
                if con.contype == CONSTR.CONSTR_CHECK and not con.skip_validation:
                    name = con.conname or f"{table}_check"
                    yield self._sql_finding(
                        ctx,
                        str(table),
                        name,
                        f"ADD CONSTRAINT {name} CHECK without NOT VALID checks every row of "
                        f"{table} under ACCESS EXCLUSIVE",
                    )
            elif cmd.subtype.name == "AT_AddColumn":
                yield from self._column_check(ctx, str(table), cmd.def_)

    def _column_check(self, ctx: StatementContext, table: str, coldef: Any) -> Iterator[Finding]:
        """``ADD COLUMN ... CHECK (...)``: PostgreSQL checks every row against it, even when
        the new column is all NULL (measured on PostgreSQL 15: 1M rows read under ACCESS
        EXCLUSIVE), and a column constraint has no NOT VALID form."""
        checks = [c for c in column_constraints(coldef) if c.contype == CONSTR.CONSTR_CHECK]
        if not checks:
            return
        yield self.finding(
            ctx,
            f"ADD COLUMN {coldef.colname} with a CHECK checks every row of {table} under "
            "ACCESS EXCLUSIVE (a column constraint has no NOT VALID form)",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, SCAN),
            blocking=BlockingStep(Step.CHECK_VALIDATION, table),
            recipe=column_check_recipe([ctx.node]) or HINT,
        )

    def _sql_finding(self, ctx: StatementContext, table: str, name: str, message: str) -> Finding:
        return self.finding(
            ctx,
            message,
            lock=Lock.ACCESS_EXCLUSIVE.on(table, SCAN),
            blocking=BlockingStep(Step.CHECK_VALIDATION, table),
            recipe=statement_recipe(ctx.sql) or f"{HINT} (name it: {name})",
        )


def _builtin_check_recipe(ctx: OperationContext, op: Any) -> str:
    """An AlterField's CHECK is the planner's (``schemaops fix`` writes it); an AddField's
    is its own SQL with the column's CHECK added NOT VALID, the field kept in the state."""
    if isinstance(op, migrations.AddField):
        from schemaops.statements import SQLSyntaxError, parse

        try:
            nodes = [stmt.node for text in ctx.step.sql or () for stmt in parse(text)]
        except SQLSyntaxError:  # SQL the parser rejects: SO901 says so
            nodes = []
        recipe = column_check_recipe(nodes, state_operation=op)
        if recipe is not None:
            return recipe
    return fix_hint(ctx.app_label, ctx.migration.name, HINT)


def column_check_recipe(nodes: list[Any], state_operation: Any = None) -> str | None:
    """``nodes`` (one operation's statements) with the CHECKs of the columns they add taken
    out and added NOT VALID in the same migration (new rows are checked from then on),
    then validated in the next one under SHARE UPDATE EXCLUSIVE: paste-ready operations.
    ``state_operation``: the Django operation whose state the RunSQL stands for (an
    ``AddField``). None when no statement adds a column with a CHECK.
    """
    from django.db import migrations
    from pglast.stream import RawStream

    from schemaops.remedy.planner import MigrationSpec, Remedy
    from schemaops.remedy.sql import render_steps
    from schemaops.statements import ident

    expand: list[Any] = []
    validate: list[Any] = []
    reverse: list[Any] = []
    for node in nodes:
        without = copy.deepcopy(node)  # the statement other rules read stays as it is
        checks = []
        for table, cmd in alter_commands(without):
            if cmd.subtype.name != "AT_AddColumn":
                continue
            column = cmd.def_.colname
            found = [c for c in column_constraints(cmd.def_) if c.contype == CONSTR.CONSTR_CHECK]
            if found:
                kept = [c for c in cmd.def_.constraints if c not in found]
                cmd.def_.constraints = tuple(kept) or None
                reverse.append(f"ALTER TABLE {ident(str(table))} DROP COLUMN {ident(column)}")
            for con in found:
                name = ident(con.conname or f"{table}_{column}_check")
                checks.append(
                    f"ALTER TABLE {ident(str(table))} ADD CONSTRAINT {name} "
                    f"CHECK ({RawStream()(con.raw_expr)}) NOT VALID"
                )
                validate.append(f"ALTER TABLE {ident(str(table))} VALIDATE CONSTRAINT {name}")
        expand += [RawStream()(without), *checks]
    if not validate:
        return None
    add: Any = migrations.RunSQL(expand, reverse)
    if state_operation is not None:
        add = migrations.SeparateDatabaseAndState(
            state_operations=[state_operation], database_operations=[add]
        )
    steps = [
        MigrationSpec("expand", [add]),
        MigrationSpec("validate", [migrations.RunSQL(validate, migrations.RunSQL.noop)]),
    ]
    summary = "add the column without its CHECK, add the CHECK NOT VALID, VALIDATE it next"
    return render_steps(Remedy("not-valid-then-validate", summary, steps))
