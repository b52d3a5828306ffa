"""SO101 drop-column: a column is dropped while old code may still read it.

## What it does
Flags ``RemoveField``, ``AlterOrderWithRespectTo`` to None (it drops the
``_order`` column) and ``ALTER TABLE ... DROP COLUMN`` in a pre-deploy
migration. In a post-deploy migration (``deploy_phase = "post"``, the
contract half) the drop is what the pattern asks for, and is flagged only
when the new code, already deployed, still needs the column: when the
models still have it (a database-only drop), or when it is still NOT NULL
without a database default (a Python ``default=`` does not count), so
every INSERT of the new release fails until the migration runs. An earlier
migration that made the column nullable or gave it a ``db_default``
(also through ``RunSQL`` or ``SeparateDatabaseAndState``) is taken into
account.

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

from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

from django.db import migrations

from schemaops.checks._expand_contract import state_then_drop
from schemaops.columns import insert_may_omit
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.phases import POST
from schemaops.plan import model_with_column
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import AT, alter_commands, ident


class DropColumn(Rule):
    code = "SO101"
    name = "drop-column"
    summary = "A column is dropped while the old code may still read it"
    category = "breaking"
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
        not_null = not insert_may_omit(field)
        if ctx.migration.phase == POST:
            # the new code ran before this whole migration: a relaxation earlier in it
            # (AlterField null=True / db_default, then RemoveField) comes too late
            at_start = _field_at_start(ctx, op.name)
            not_null = not_null or (at_start is not None and not insert_may_omit(at_start))
            yield from self._post_deploy(ctx, ctx.table, column, not_null)
            return
        yield self.finding(
            ctx,
            f"RemoveField drops {ctx.table}.{column} ({ctx.model_name}.{op.name}) while the "
            "running code still selects it",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, "briefly (no rewrite)"),
            recipe=partial(
                self._recipe,
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
        if ctx.migration.phase == POST:
            yield from self._post_deploy(ctx, ctx.table, "_order", True)
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
            if cmd.subtype != AT.AT_DropColumn or ctx.is_new_table(table):
                continue
            if swapped_in(ctx, str(table), str(cmd.name)):
                continue  # the column is replaced in the same transaction: the code sees it
            if ctx.migration.phase == POST:
                needs = ctx.migration.facts.needs_value(
                    (str(table), str(cmd.name)), ctx.migration.step.migration.operations
                )
                yield from self._post_deploy(ctx, str(table), str(cmd.name), bool(needs))
            else:
                yield self.finding(
                    ctx,
                    f"DROP COLUMN {table}.{cmd.name} in a pre-deploy migration breaks the "
                    "running code that still reads it",
                    lock=Lock.ACCESS_EXCLUSIVE.on(str(table), "briefly (no rewrite)"),
                    recipe="Move this statement into a post-deploy migration "
                    '(deploy_phase = "post"), applied after the code stops using the column.',
                )

    def _post_deploy(
        self, ctx: OperationContext | StatementContext, table: str, column: str, not_null: bool
    ) -> Iterator[Finding]:
        """The contract phase: the new code runs already; does it still need the column?"""
        mctx = ctx.migration
        lock = Lock.ACCESS_EXCLUSIVE.on(table, "briefly (no rewrite)")
        model = model_with_column(mctx.state, table, column)
        if model is not None:
            yield self.finding(
                ctx,
                f"post-deploy migration drops {table}.{column} from the database while the "
                f"models still have it ({model}): the deployed code selects and writes it, "
                "so every query of the model fails",
                lock=lock,
                recipe="Remove the field from the model and the state first (RemoveField, or "
                "SeparateDatabaseAndState state_operations in the pre-deploy migration shipped "
                "with that code); drop the column post-deploy only after that.",
            )
        elif not_null and not mctx.facts.relaxed_before(
            (table, column), mctx.step.migration.operations
        ):
            yield self.finding(
                ctx,
                f"post-deploy migration drops {table}.{column}, which is NOT NULL without a "
                "database default: the new code, deployed before this runs, no longer sends "
                "it, so its INSERTs fail until the column is gone",
                lock=lock,
                recipe="In the pre-deploy migration that removes the field from the state, make "
                "the column nullable in database_operations:\n"
                f"    migrations.RunSQL('ALTER TABLE {ident(table)} ALTER COLUMN "
                f"{ident(column)} DROP NOT NULL', reverse_sql=migrations.RunSQL.noop),\n"
                "then drop it in this post-deploy migration.",
            )

    def _recipe(
        self, ctx: OperationContext, what: str, column: str, not_null: bool, state_op: str
    ) -> str:
        """Out of the state pre-deploy (nullable, so new INSERTs work), dropped post-deploy.
        Written when read (reads no project state): the planner's remedy replaces it."""
        table = ctx.table
        db_ops = []
        if not_null:
            db_ops.append(
                f"migrations.RunSQL(\n    'ALTER TABLE {ident(table)} ALTER COLUMN "
                f"{ident(column)} DROP NOT NULL',\n    reverse_sql=migrations.RunSQL.noop,\n),"
            )
        return state_then_drop(
            ctx,
            what,
            state_op,
            [f"ALTER TABLE {ident(table)} DROP COLUMN IF EXISTS {ident(column)}"],
            (
                f"# 1. pre-deploy, shipped with the code that no longer uses {table}.{column}:",
                "# 2. post-deploy, once every server runs the new code:",
            ),
            database_ops=db_ops,
        )


def _field_at_start(ctx: OperationContext, name: str) -> Any:
    """The field as it was when this migration started: the model snapshot of the first
    operation of the migration about the same table (None when unknown)."""
    for octx in ctx.migration.operations:
        before = octx.before
        if before is not None and before.db_table == ctx.table:
            return before.fields.get(name)
    return None


def swapped_in(ctx: StatementContext, table: str, column: str) -> bool:
    """Is ``table.column`` swapped in one transaction: dropped, and a column no model
    uses (the shadow column of an online type change) renamed to its name?

    In an atomic migration no query sees the moment between the two: the
    running code finds its column, of the new type, before and after.
    """
    from pglast import ast

    if not ctx.in_transaction:
        return False
    state, dropped = ctx.migration.state, False
    for node in _migration_nodes(ctx):
        for altered, cmd in alter_commands(node):
            if altered == table and cmd.subtype == AT.AT_DropColumn and cmd.name == column:
                dropped = True
        if (
            dropped
            and isinstance(node, ast.RenameStmt)
            and node.relation is not None
            and str(node.relation.relname) == table
            and node.newname == column
            and node.subname
            and model_with_column(state, table, str(node.subname)) is None
        ):
            return True
    return False


def _migration_nodes(ctx: StatementContext) -> list[Any]:
    """The statements of the migration's RunSQL operations (those in
    ``database_operations`` too), in order: rules see statements one by one, and a
    swap's rename comes after the drop."""
    from schemaops.statements import parse, runsql_texts

    def flat(operations: Iterable[Any]) -> list[Any]:
        out = []
        for op in operations:
            if isinstance(op, migrations.SeparateDatabaseAndState):
                out += flat(op.database_operations)
            elif isinstance(op, migrations.RunSQL):
                out.append(op)
        return out

    nodes = []
    for op in flat(list(getattr(ctx.migration.step.migration, "operations", ()))):
        try:
            nodes += [s.node for text in runsql_texts(op.sql) for s in parse(text)]
        except Exception:  # unparsable SQL is another rule's finding
            continue
    return nodes
