"""SO206 alter-column-type: a column type change rewrites the table under ACCESS EXCLUSIVE.

## What it does
Flags ``AlterField`` whose PostgreSQL column type changes in a way that is
not binary-coercible, and ``ALTER COLUMN ... TYPE`` in ``RunSQL``. Changes
PostgreSQL makes without a rewrite pass: ``varchar(n)`` to ``varchar(m)``
with ``m >= n``, to unlimited ``varchar`` or to ``text``; ``text`` to
unlimited ``varchar``; ``numeric(p, s)`` to ``numeric(p2 >= p, s)`` or to
unconstrained ``numeric``; ``cidr`` to ``inet``; more (or unlimited)
precision for ``timestamp``, ``timestamptz``, ``time`` and ``interval``;
``timestamp`` to ``timestamptz`` or back (without a precision: Django's
``DateTimeField`` has none) when the session's TimeZone is UTC,
which Django sets on its connection with ``USE_TZ = True`` (PostgreSQL 12+;
in another zone every row is converted). That change, like a new collation,
still rebuilds every index on the column under ACCESS EXCLUSIVE: it is
flagged when the column has one.

## Why is this bad?
Any other type change takes ACCESS EXCLUSIVE, rewrites every row into a new
file and rebuilds every index of the table. Reads and writes wait for all
of it: minutes to hours on a big table. Changing a primary key's type also
rewrites every table whose foreign keys point at it.

## Example
```python
operations = [migrations.AlterField("order", "amount", models.BigIntegerField())]
```

## Use instead
The online type change, which ``schemaops fix`` writes (see docs/fix.md):
before the deploy, a nullable shadow column of the new type kept equal to
the old one by a trigger, and its indexes built ``CONCURRENTLY``; then
``schemaops backfill`` fills the old rows in batches; after the deploy, one
short transaction swaps the columns (the indexes, constraints and, for an
auto-incrementing key, the sequence move with it). Or pick a
binary-coercible change (e.g. ``text`` instead of a shorter ``varchar``).
A primary key other tables reference needs their columns changed the same
way: the remedy then says what to do by hand.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
- https://github.com/ankane/strong_migrations#changing-the-type-of-a-column
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.checks._lockmap import StateSchema, operation_steps
from schemaops.checks._lockmap_ops import column_indexes, column_type
from schemaops.checks._lockmap_sql import timezone_flip_indexes
from schemaops.columns import binary_coercible, timezone_flip, type_from_node, utc_session
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import alter_commands
from schemaops.stats.model import Step

REWRITE = "while every row is rewritten and every index rebuilt"
# the planner (schemaops.remedy.retype) writes the remedy; this is what a finding says
# when no plan is attached (a RunSQL statement, or more findings than `check` plans)
ONLINE = (
    "Change the type online (`schemaops fix` writes it for an AlterField): add a shadow "
    "column of the new type kept equal by a trigger, build its indexes CONCURRENTLY, fill "
    "it with `schemaops backfill`, then swap the columns in one short post-deploy "
    "transaction."
)


COLUMN = "<column>"  # where the column goes in a message of _indexes_rebuilt


class AlterColumnType(Rule):
    code = "SO206"
    name = "alter-column-type"
    summary = "A column type change rewrites the table under ACCESS EXCLUSIVE"
    category = "locking"
    operations = (migrations.AlterField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        old = ctx.field_before(op.name)
        if ctx.new_table or old is None or old.many_to_many or op.field.many_to_many:
            return
        old_type, new_type = column_type(ctx, old), column_type(ctx, op.field)
        utc = utc_session(ctx.migration.target.session)
        if old_type is None or new_type is None:
            yield from self._collation(ctx, op, old)
            return
        if binary_coercible(old_type, new_type, utc_session=utc):
            if timezone_flip(old_type, new_type):
                yield from self._timezone_flip(ctx, op, old, f"{old_type} to {new_type}")
            else:
                yield from self._collation(ctx, op, old)
            return
        column = ctx.column(op.name, old)
        others = {s.table for s in operation_steps(ctx) if "referencing" in s.action}
        also = f", and {len(others)} referencing table(s): {', '.join(sorted(others))}"
        yield self.finding(
            ctx,
            f"AlterField {ctx.model_name}.{op.name} changes {ctx.table}.{column} from {old_type} "
            f"to {new_type}, which is not binary-coercible: the table is rewritten"
            + (also if others else ""),
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, REWRITE),
            blocking=BlockingStep(Step.REWRITE, ctx.table),
            recipe=ONLINE,
        )

    def _collation(self, ctx: OperationContext, op: Any, old: Any) -> Iterator[Finding]:
        """Same type, new collation: no rewrite, but every index on the column is rebuilt."""
        old_collation = getattr(old, "db_collation", None)
        new_collation = getattr(op.field, "db_collation", None)
        if old_collation != new_collation:
            to = new_collation or "the default"
            yield from self._indexes_rebuilt(ctx, op, old, f"the collation of {COLUMN} to {to}", "")

    def _timezone_flip(
        self, ctx: OperationContext, op: Any, old: Any, change: str
    ) -> Iterator[Finding]:
        """``timestamp`` <-> ``timestamptz`` in a UTC session: no rewrite, but every index
        on the column gets the other operator class, so PostgreSQL rebuilds it."""
        yield from self._indexes_rebuilt(
            ctx, op, old, f"{COLUMN} from {change}", " in a UTC session"
        )

    def _indexes_rebuilt(
        self, ctx: OperationContext, op: Any, old: Any, what: str, when: str
    ) -> Iterator[Finding]:
        """No rewrite (``when``), but PostgreSQL rebuilds every index on the column; ``what``
        changes, with :data:`COLUMN` where the column goes. Nothing when the column has no index."""
        indexes = column_indexes(ctx.before, op.name)
        if not indexes:
            return
        column = f"{ctx.table}.{ctx.column(op.name, old)}"
        yield self.finding(
            ctx,
            f"AlterField {ctx.model_name}.{op.name} changes {what.replace(COLUMN, column)}: "
            f"no rewrite{when}, but PostgreSQL rebuilds its indexes ({', '.join(indexes)}) "
            "under ACCESS EXCLUSIVE",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, "while the column's indexes are rebuilt"),
            recipe=ONLINE,
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        schema = None
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype.name != "AT_AlterColumnType" or ctx.is_new_table(table):
                continue
            target = ctx.migration.target
            schema = schema or StateSchema(
                ctx.migration.state, target.pg_version, utc_session=utc_session(target.session)
            )
            new = type_from_node(cmd.def_.typeName)
            old = _type_before(ctx, str(table), str(cmd.name))
            old = old or schema.column_type(str(table), cmd.name)
            using = not _plain_cast(cmd.def_.raw_default, str(cmd.name), new)
            known_pair = old is not None and new is not None and old != new
            utc = schema.utc_session
            if not using and known_pair and binary_coercible(old, new, utc_session=utc):  # type: ignore[arg-type]
                yield from self._sql_flip(ctx, str(table), cmd, schema)
                continue
            known = f"from {old} " if old is not None and old != new else ""
            yield self.finding(
                ctx,
                f"ALTER COLUMN {cmd.name} TYPE {new} on {table} {known}rewrites the table"
                + ("" if known else " unless the old type is binary-coercible to it"),
                lock=Lock.ACCESS_EXCLUSIVE.on(str(table), REWRITE),
                blocking=BlockingStep(Step.REWRITE, str(table)),
                recipe=ONLINE,
            )

    def _sql_flip(
        self, ctx: StatementContext, table: str, cmd: Any, schema: StateSchema
    ) -> Iterator[Finding]:
        indexes = timezone_flip_indexes(table, cmd, schema)
        if indexes:
            yield self.finding(
                ctx,
                f"ALTER COLUMN {cmd.name} TYPE {type_from_node(cmd.def_.typeName)} on {table}: "
                f"no rewrite in a UTC session, but PostgreSQL rebuilds its indexes "
                f"({', '.join(indexes)}) under ACCESS EXCLUSIVE",
                lock=Lock.ACCESS_EXCLUSIVE.on(table, "while the column's indexes are rebuilt"),
                recipe=ONLINE,
            )


def _plain_cast(using: Any, column: str, new: Any) -> bool:
    """No USING, or ``USING col::<the new type>`` (what Django writes): the same
    conversion as none, so PostgreSQL skips the rewrite when the types are
    binary-coercible (measured: the table keeps its file)."""
    from pglast import ast

    if using is None:
        return True
    if not isinstance(using, ast.TypeCast) or not isinstance(using.arg, ast.ColumnRef):
        return False
    fields = using.arg.fields or ()
    named = isinstance(fields[-1], ast.String) and fields[-1].sval == column if fields else False
    return named and type_from_node(using.typeName) == new


def _type_before(ctx: StatementContext, table: str, column: str) -> Any:
    """The column's type before the operation whose SQL this is, when it is that
    operation's model (a ``SeparateDatabaseAndState`` altering the field in its state:
    the migration's state already has the new type)."""
    step = ctx.operation.step
    models = [step.before, *(step.parent.state_models.values() if step.parent else ())]
    for before in models:
        if before is None or before.db_table != table:
            continue
        for name, f in before.fields.items():
            if not f.is_relation and ctx.operation.column(name, f) == column:
                return column_type(ctx.operation, f)
    return None
