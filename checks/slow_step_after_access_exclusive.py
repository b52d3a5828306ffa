"""SO209 slow-step-after-access-exclusive: a slow step runs while ACCESS EXCLUSIVE is held.

## What it does
In an atomic migration (Django's default), flags any slow step on a table
(an index build, a validation scan, a rewrite, an UPDATE/DELETE, a
``RunPython``) that runs after an *earlier operation* of the same
transaction took ACCESS EXCLUSIVE on that table: for example an
``AddField`` followed by an ``AddIndex``, or an ``AlterField`` followed by
a ``RunPython`` backfill. The steps of one operation (``AddField(...,
db_index=True)`` runs ``ADD COLUMN`` then ``CREATE INDEX``) are left to the
rule that owns the slow step (SO201 for the index, SO204 for a foreign key,
...), whose remedy removes both. Tables created in the same migration are
exempt. Uses the static lock map (``schemaops.checks._lockmap``).

## Why is this bad?
A lock is held until the transaction ends. The quick ``ADD COLUMN`` took
ACCESS EXCLUSIVE, so while the index builds (or the backfill runs, or the
constraint is validated) nobody can even read the table: the slow step's
whole duration becomes downtime, not just the brief ALTER.

## Example
```python
operations = [
    migrations.AddField("order", "ref", models.CharField(max_length=20, null=True)),
    migrations.AddIndex("order", models.Index(fields=["ref"], name="order_ref_idx")),
]
```

## Use instead
One ACCESS EXCLUSIVE step per transaction: put the quick ALTER in its own
migration, and the slow step in the next one, made non-blocking
(``CREATE INDEX CONCURRENTLY`` / ``VALIDATE CONSTRAINT`` / a batched
backfill) in a migration with ``atomic = False``.

## References
- https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES
- https://github.com/kaaveland/eugene (hint E4: statements after taking AccessExclusiveLock)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.checks._lockmap import LockStep, operation_steps
from schemaops.checks.validate_in_same_transaction import validated_after_add
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.rules import MigrationContext, OperationContext, Rule
from schemaops.statements import ident
from schemaops.stats.model import Step

AE = Lock.ACCESS_EXCLUSIVE
Held = tuple[OperationContext, LockStep]


def describe(ctx: OperationContext) -> str:
    op = ctx.operation
    name = getattr(op, "name", None)
    index = getattr(op, "index", None)
    if index is not None and getattr(index, "name", None):
        return f"{type(op).__name__} {index.name}"
    if isinstance(op, migrations.AddField | migrations.AlterField | migrations.RemoveField):
        return f"{type(op).__name__} {ctx.model_name}.{name}"
    return type(op).__name__ + (f" {name}" if isinstance(name, str) else "")


# the slow steps whose duration `check --stats` can estimate, by the lock map's action
_ESTIMATED = (
    ("CREATE INDEX", Step.INDEX_BUILD),
    ("CREATE UNIQUE INDEX", Step.INDEX_BUILD),
    ("ALTER COLUMN TYPE", Step.REWRITE),
    ("ADD FOREIGN KEY", Step.FK_VALIDATION),
    ("ADD CONSTRAINT CHECK", Step.CHECK_VALIDATION),
    ("ADD CONSTRAINT UNIQUE", Step.INDEX_BUILD),
    ("ALTER COLUMN SET NOT NULL", Step.NOT_NULL_SCAN),
)


def _blocking(step: LockStep) -> BlockingStep | None:
    for action, kind in _ESTIMATED:
        if step.action.startswith(action):
            return BlockingStep(kind, step.table)
    return None


class SlowStepAfterAccessExclusive(Rule):
    code = "SO209"
    name = "slow-step-after-access-exclusive"
    summary = "A slow step runs in the transaction that holds ACCESS EXCLUSIVE"
    category = "locking"

    def check_migration(self, ctx: MigrationContext) -> Iterator[Finding]:
        if not ctx.atomic:
            return
        held: dict[str, Held] = {}
        # a VALIDATE of a constraint this transaction added NOT VALID: SO213 describes
        # that very pair (and its remedy, VALIDATE in a migration of its own, ends this
        # transaction too), so it is not reported twice
        reported = {(key[0], id(octx)) for octx, key, _ in validated_after_add(ctx)}
        for octx in ctx.operations:
            for step in self._steps(octx, held):
                if step.table in ctx.new_tables:
                    continue
                first = held.get(step.table)
                # within one Django operation, the rule that owns the slow step (SO201 for
                # its index, SO204 for its foreign key, ...) already describes it and its
                # fix; the statements of a RunSQL are the user's own sequence
                same = first is not None and (
                    first[0] is octx
                    and (first[1].statement == step.statement or not _user_sql(octx))
                )
                if step.slow and first is not None and not same:
                    key = (step.table, id(octx))
                    if key not in reported:
                        reported.add(key)
                        yield self._finding(octx, step, first)
                if step.lock is AE:
                    held.setdefault(step.table, (octx, step))

    @staticmethod
    def _steps(octx: OperationContext, held: dict[str, Held]) -> list[LockStep]:
        if isinstance(octx.operation, migrations.RunPython):
            # Python code: it may read or write any table; count it on every locked one.
            return [LockStep(t, Lock.ROW_EXCLUSIVE, True, "RunPython") for t in list(held)]
        return operation_steps(octx)

    def _finding(self, octx: OperationContext, step: LockStep, first: Held) -> Finding:
        held_ctx, held_step = first
        table = step.table
        return self.finding(
            octx,
            f"{describe(octx)} runs {step.action} on {table} after {describe(held_ctx)} took "
            f"ACCESS EXCLUSIVE on it ({held_step.action}) in the same transaction: reads and "
            f"writes wait for the whole {step.action}, not just the {held_step.action}",
            lock=AE.on(table, f"from {held_step.action} until the migration commits"),
            recipe=self._recipe(octx, step, held_ctx),
            blocking=_blocking(step),
        )

    def _recipe(self, octx: OperationContext, step: LockStep, held_ctx: OperationContext) -> str:
        """Prose: the planner's remedy of the slow operation (CONCURRENTLY in its own
        non-atomic migration, NOT VALID then VALIDATE) ends the transaction before it,
        and is what `check` shows; this text stands where nothing was planned."""
        mig = octx.migration
        return (
            f"Split {mig.name} after {describe(held_ctx)}, so that its ACCESS EXCLUSIVE on "
            f"{ident(step.table)} commits first, and make {describe(octx)} non-blocking in a "
            "later migration (atomic = False and CONCURRENTLY / NOT VALID + VALIDATE / a "
            "batched backfill with `schemaops backfill`); `schemaops fix "
            f"{octx.app_label} {mig.name}` writes it where the planner has a remedy."
        )


def _user_sql(ctx: OperationContext) -> bool:
    return isinstance(ctx.operation, migrations.RunSQL)


def _top(ctx: OperationContext) -> int:
    step: Any = ctx.step
    while step.parent is not None:
        step = step.parent
    return int(step.index)
