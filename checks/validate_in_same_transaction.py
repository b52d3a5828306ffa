"""SO213 validate-in-same-transaction: a constraint is validated in the transaction that added it.

## What it does
In an atomic migration, flags ``VALIDATE CONSTRAINT`` (``RunSQL``, or
``ValidateConstraint``) of a constraint that the same migration added
``NOT VALID`` (``ADD CONSTRAINT ... NOT VALID``, or ``AddConstraintNotValid``).

## Why is this bad?
``NOT VALID`` + ``VALIDATE`` only helps when they commit separately. In one
transaction, the lock ``ADD CONSTRAINT`` took (ACCESS EXCLUSIVE for a CHECK,
SHARE ROW EXCLUSIVE on both tables for a foreign key) is still held while
``VALIDATE`` scans the whole table: exactly the blocking scan the split was
meant to avoid.

## Example
```python
operations = [
    AddConstraintNotValid("order", models.CheckConstraint(condition=Q(amount__gte=0),
                                                          name="amount_gte_0")),
    ValidateConstraint("order", "amount_gte_0"),
]
```

## Use instead
Validate in the next migration (or set ``atomic = False``): ``VALIDATE
CONSTRAINT`` alone takes SHARE UPDATE EXCLUSIVE, which lets reads and
writes go on during the scan.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
- https://github.com/sbdchd/squawk (constraint-missing-not-valid, same-transaction case)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from schemaops.checks._lockmap_ops import table_of
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import MigrationContext, OperationContext, Rule, StatementContext
from schemaops.statements import alter_commands

Key = tuple[str, str]


class ValidateInSameTransaction(Rule):
    code = "SO213"
    name = "validate-in-same-transaction"
    summary = "A NOT VALID constraint is validated in the same transaction"
    category = "locking"

    def check_migration(self, ctx: MigrationContext) -> Iterator[Finding]:
        for octx, key, lock in validated_after_add(ctx):
            yield self._finding(octx, key, lock)

    @staticmethod
    def _events(ctx: MigrationContext, octx: OperationContext) -> Iterator[tuple[str, Key, str]]:
        kind = type(octx.operation).__name__
        if kind == "AddConstraintNotValid":
            yield "add", (octx.table, octx.operation.constraint.name), "ACCESS EXCLUSIVE"
        elif kind == "ValidateConstraint":
            yield "validate", (table_of(octx), octx.operation.name), ""
        for sctx in ctx.statements:
            if sctx.operation is octx:
                yield from _sql_events(sctx)

    def _finding(self, ctx: OperationContext, key: Key, lock: str) -> Finding:
        table, name = key
        mig = ctx.migration
        return self.finding(  # the remedy (validate in a migration of its own) is the planner's
            ctx,
            f"constraint {name} on {table} is added NOT VALID and validated in the same "
            f"transaction ({mig.app_label}.{mig.name} is atomic): the {lock} lock of the ADD is "
            "held during the whole validation scan",
            lock=f'{lock} on "{table}" while every row is checked',
        )


def validated_after_add(ctx: MigrationContext) -> list[tuple[OperationContext, Key, str]]:
    """Each VALIDATE of a constraint added NOT VALID earlier in the same transaction:
    the operation, (table, constraint) and the lock the ADD took. SO209 leaves these
    to this rule (one hazard, one verdict)."""
    if not ctx.atomic:
        return []
    added: dict[Key, str] = {}
    out = []
    for octx in ctx.operations:
        for event, key, lock in ValidateInSameTransaction._events(ctx, octx):
            if event == "add":
                added[key] = lock
            elif key in added:
                out.append((octx, key, added[key]))
    return out


def _sql_events(sctx: StatementContext) -> Iterator[tuple[str, Key, str]]:
    for table, cmd in alter_commands(sctx.node):
        kind = cmd.subtype.name
        if kind == "AT_AddConstraint" and cmd.def_.skip_validation and cmd.def_.conname:
            yield "add", (str(table), cmd.def_.conname), _add_lock(cmd.def_)
        elif kind == "AT_ValidateConstraint":
            yield "validate", (str(table), cmd.name), ""


def _add_lock(con: Any) -> str:
    return (
        Lock.SHARE_ROW_EXCLUSIVE.value
        if con.contype.name == "CONSTR_FOREIGN"
        else Lock.ACCESS_EXCLUSIVE.value
    )
