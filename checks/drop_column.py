"""SO101 drop-column: a column is dropped while old code may still read it.

## What it does
Flags ``RemoveField``, ``AlterOrderWithRespectTo`` to None (it drops the
``_order`` column) and ``ALTER TABLE ... DROP COLUMN`` in a pre-deploy
migration.

## Why is this bad?
During a rollout the previous release keeps running. Its queries name the
column explicitly (Django selects every field), so the moment the column is
gone every page that loads the model fails. The drop itself takes an
ACCESS EXCLUSIVE lock briefly (no rewrite), which also waits behind any
long transaction and blocks everything queued after it.

## Example
```python
operations = [migrations.RemoveField("order", "legacy_code")]
```

## Use instead
Expand, deploy, contract. Remove the field from the model and from the
migration *state* only (the column stays), make it nullable if it is NOT
NULL so the new code can insert without it, deploy, then drop the column in
a post-deploy migration (``deploy_phase = "post"``).

## References
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#separatedatabaseandstate
- https://www.postgresql.org/docs/current/sql-altertable.html (DROP COLUMN)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.remedy.code import join_steps, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import AT, alter_commands, ident


class DropColumn(Rule):
    code = "SO101"
    name = "drop-column"
    summary = "A column is dropped while the old code may still read it"
    category = "additive"
    operations = (migrations.RemoveField, migrations.AlterOrderWithRespectTo)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        if ctx.new_table:
            return
        op = ctx.operation
        if isinstance(op, migrations.AlterOrderWithRespectTo):
            yield from self._order_dropped(ctx, op)
            return
        field = ctx.field_before(op.name)
        if field is None or getattr(field, "many_to_many", False):
            return  # M2M: its own table, handled by drop-table semantics
        column = ctx.column(op.name, field)
        not_null = not getattr(field, "null", False) and (
            getattr(field, "db_default", None) is _not_provided()
        )
        yield self.finding(
            ctx,
            f"RemoveField drops {ctx.table}.{column} ({ctx.model_name}.{op.name}) while the "
            "running code still selects it",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, "briefly (no rewrite)"),
            recipe=self._recipe(
                ctx,
                f"{op.model_name}_{op.name}",
                column,
                not_null,
                f'migrations.RemoveField("{op.model_name}", "{op.name}")',
            ),
        )

    def _order_dropped(self, ctx: OperationContext, op: Any) -> Iterator[Finding]:
        """Unsetting order_with_respect_to drops the ``_order`` column."""
        before = ctx.before
        if op.order_with_respect_to or before is None:
            return
        if not before.options.get("order_with_respect_to"):
            return
        yield self.finding(
            ctx,
            f"AlterOrderWithRespectTo {ctx.model_name} (None) drops {ctx.table}._order while "
            "the running code still writes it and orders by it",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, "briefly (no rewrite)"),
            recipe=self._recipe(
                ctx,
                f"{op.name_lower}_order",
                "_order",
                True,
                f'migrations.AlterOrderWithRespectTo("{op.name_lower}", None)',
            ),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype == AT.AT_DropColumn and not ctx.is_new_table(table):
                yield self.finding(
                    ctx,
                    f"DROP COLUMN {table}.{cmd.name} in a pre-deploy migration breaks the "
                    "running code that still reads it",
                    lock=Lock.ACCESS_EXCLUSIVE.on(str(table), "briefly (no rewrite)"),
                    recipe="Move this statement into a post-deploy migration "
                    '(deploy_phase = "post"), applied after the code stops using the column.',
                )

    def _recipe(
        self, ctx: OperationContext, what: str, column: str, not_null: bool, state_op: str
    ) -> str:
        """Out of the state pre-deploy (nullable, so new INSERTs work), dropped post-deploy."""
        table = ctx.table
        db_ops = []
        if not_null:
            db_ops.append(
                f"migrations.RunSQL(\n    'ALTER TABLE {ident(table)} ALTER COLUMN "
                f"{ident(column)} DROP NOT NULL',\n    reverse_sql=migrations.RunSQL.noop,\n),"
            )
        pre = migration_code(
            ctx,
            [
                "migrations.SeparateDatabaseAndState(",
                f"    state_operations=[{state_op}],",
                "    database_operations=[",
                *["        " + line for op in db_ops for line in op.splitlines()],
                "    ],",
                "),",
            ],
            name=f"remove_{what}_from_state",
        )
        post = migration_code(
            ctx,
            [
                "migrations.RunSQL(",
                f"    'ALTER TABLE {ident(table)} DROP COLUMN IF EXISTS {ident(column)}',",
                "    reverse_sql=migrations.RunSQL.noop,",
                "),",
            ],
            name=f"drop_{what}",
            phase="post",
            after=f"remove_{what}_from_state",
        )
        return join_steps(
            f"# 1. pre-deploy, shipped with the code that no longer uses {table}.{column}:",
            pre,
            "# 2. post-deploy, once every server runs the new code:",
            post,
        )


def _not_provided() -> object:
    from django.db.models.fields import NOT_PROVIDED

    return NOT_PROVIDED
