"""SO212 add-exclusion-constraint: an exclusion constraint is built under ACCESS EXCLUSIVE.

## What it does
Flags ``AddConstraint(ExclusionConstraint)`` on an existing table and
``ALTER TABLE ... ADD CONSTRAINT ... EXCLUDE`` in ``RunSQL``.

## Why is this bad?
PostgreSQL builds the exclusion constraint's index and checks every row
under ACCESS EXCLUSIVE: reads and writes wait for the whole build. Unlike
CHECK and foreign keys there is no ``NOT VALID`` form, and unlike UNIQUE
it cannot adopt an index built ``CONCURRENTLY``: there is no lock-free path.

## Example
```python
operations = [migrations.AddConstraint("booking", ExclusionConstraint(
    name="no_overlap", expressions=[("room", RangeOperators.EQUAL),
                                    ("during", RangeOperators.OVERLAPS)]))]
```

## Use instead
Plan it: run it when the table is small or traffic is low, behind a short
``lock_timeout`` so it gives up instead of queueing everyone behind it
(retry until it gets the lock); or build a new table with the constraint,
copy the data over in batches and swap. Suppress this finding with the
reason once planned.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT
- https://docs.djangoproject.com/en/stable/ref/contrib/postgres/constraints/
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands
from schemaops.stats.model import Step

BUILD = "while the exclusion index is built and every row checked"


class AddExclusionConstraint(Rule):
    code = "SO212"
    name = "add-exclusion-constraint"
    summary = "An exclusion constraint is built under ACCESS EXCLUSIVE"
    category = "locking"
    operations = (migrations.AddConstraint,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if ctx.new_table or type(op.constraint).__name__ != "ExclusionConstraint":
            return
        yield self.finding(  # the remedy (advice: no lock-free form) is the planner's
            ctx,
            f"AddConstraint {op.constraint.name} builds an exclusion constraint on {ctx.table} "
            f"({ctx.model_name}) under ACCESS EXCLUSIVE; it has no NOT VALID or CONCURRENTLY form",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, BUILD),
            blocking=BlockingStep(Step.INDEX_BUILD, ctx.table),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype.name != "AT_AddConstraint" or ctx.is_new_table(table):
                continue
            if cmd.def_.contype == CONSTR.CONSTR_EXCLUSION:
                name = cmd.def_.conname or "an exclusion constraint"
                yield self.finding(
                    ctx,
                    f"ADD CONSTRAINT {name} EXCLUDE on {table} is built under ACCESS EXCLUSIVE",
                    lock=Lock.ACCESS_EXCLUSIVE.on(str(table), BUILD),
                    blocking=BlockingStep(Step.INDEX_BUILD, str(table)),
                )
