"""SO204 add-foreign-key-validated: a foreign key is validated while both tables are locked.

## What it does
Flags a foreign key constraint added to an existing table and validated in
the same statement: ``AddField`` of a ``ForeignKey``/``OneToOneField`` with
``db_constraint=True`` (Django's default), ``AlterField`` that (re)creates
the constraint (turning ``db_constraint`` on, or any database change to a
foreign key, which Django implements by dropping and re-adding it), an
``AlterField`` that changes the type or collation of a primary or unique key
other tables' foreign keys point at (Django drops those and adds them back
validated, even for a change that rewrites nothing, such as a longer
``varchar``), and ``ADD FOREIGN KEY`` / ``ADD COLUMN ... REFERENCES``
without ``NOT VALID`` in ``RunSQL``.

## Why is this bad?
Adding a validated foreign key takes SHARE ROW EXCLUSIVE on *both* tables
and then checks every row of the referencing table. For the whole scan no
one can insert, update or delete in either table: a big child table blocks
writes to its (often hot) parent.

## Example
```python
operations = [
    migrations.AddField("order", "customer",
                        models.ForeignKey("customers.customer", models.PROTECT, null=True)),
]
```

## Use instead
Add the constraint ``NOT VALID`` (a brief lock, no scan: new rows are
checked from then on), then ``VALIDATE CONSTRAINT`` in a later migration:
it scans under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on.
Keep Django's state in step with ``SeparateDatabaseAndState``.

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#separatedatabaseandstate
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.checks._lockmap import operation_locks, operation_steps
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.remedy.sql import fix_hint, statement_recipe
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints, names, relname
from schemaops.stats.model import Step

HINT = (
    "Add the foreign key NOT VALID (its index CONCURRENTLY, atomic = False), then "
    "VALIDATE CONSTRAINT in the next migration"
)
AT_ADD_CONSTRAINT, AT_ADD_COLUMN = "AT_AddConstraint", "AT_AddColumn"
REFERENCING = "ADD FOREIGN KEY (referencing)"  # the lock map's step for a key's re-added FKs


def lock_text(table: str, target: str, own: Lock = Lock.SHARE_ROW_EXCLUSIVE) -> str:
    """``own`` on the referencing table, SHARE ROW EXCLUSIVE on the referenced one."""
    srx = Lock.SHARE_ROW_EXCLUSIVE
    if own is srx:
        return f'{srx.on(table)} and on "{target}", while every row of "{table}" is checked'
    return f'{own.on(table)} and {srx.value} on "{target}", while every row of "{table}" is checked'


class AddForeignKeyValidated(Rule):
    code = "SO204"
    name = "add-foreign-key-validated"
    summary = "A foreign key is validated while writes to both tables wait"
    category = "locking"
    operations = (migrations.AddField, migrations.AlterField)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        if ctx.new_table or ctx.operation.field.many_to_many:
            return  # a join table's foreign keys: read from the generated SQL
        steps = operation_steps(ctx)
        yield from self._incoming(
            ctx, [s.table for s in steps if s.action == REFERENCING and s.slow]
        )
        if not any(s.action == "ADD FOREIGN KEY" and s.slow for s in steps):
            return  # none, or on a new all-NULL column: PostgreSQL skips the validation
        op = ctx.operation
        target = ctx.related_table(op.field)
        # AddField emits one ALTER TABLE ... ADD COLUMN ... REFERENCES: the new column
        # takes ACCESS EXCLUSIVE on the referencing table (confirmed by schemaops trace).
        own = max(
            (lock for table, lock, _ in operation_locks(ctx) if table == ctx.table),
            key=lambda lock: lock.strength,
            default=Lock.SHARE_ROW_EXCLUSIVE,
        )
        yield self.finding(
            ctx,
            f"{type(op).__name__} {ctx.model_name}.{op.name} adds a validated foreign key from "
            f"{ctx.table} to {target}: writes to both wait while every row is checked",
            lock=lock_text(ctx.table, target, own),
            blocking=BlockingStep(Step.FK_VALIDATION, ctx.table, target),
            recipe=fix_hint(ctx.app_label, ctx.migration.name, HINT),
        )

    def _incoming(self, ctx: OperationContext, tables: list[str]) -> Iterator[Finding]:
        """The foreign keys pointing at a key whose type or collation changes: Django drops
        them first and adds them back validated (``_alter_field``'s drop_foreign_keys)."""
        op = ctx.operation
        for table in dict.fromkeys(tables):
            yield self.finding(
                ctx,
                f"AlterField {ctx.model_name}.{op.name} changes a key {table} references: "
                f"Django drops that foreign key and adds it back validated, so writes to both "
                f"wait while every row of {table} is checked",
                lock=lock_text(table, ctx.table),
                blocking=BlockingStep(Step.FK_VALIDATION, table, ctx.table),
                recipe=fix_hint(ctx.app_label, ctx.migration.name, HINT),
            )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if ctx.is_new_table(table):
                continue
            kind = cmd.subtype.name
            if kind == AT_ADD_CONSTRAINT and cmd.def_.contype == CONSTR.CONSTR_FOREIGN:
                if not cmd.def_.skip_validation:
                    yield self._sql_finding(ctx, str(table), cmd.def_)
            elif kind == AT_ADD_COLUMN:
                constraints = column_constraints(cmd.def_)
                if not any(con.contype == CONSTR.CONSTR_DEFAULT for con in constraints):
                    continue  # a new column without DEFAULT is all NULL: nothing to validate
                for con in constraints:
                    if con.contype == CONSTR.CONSTR_FOREIGN:
                        target = relname(con.pktable) or "?"
                        yield self.finding(
                            ctx,
                            f"ADD COLUMN {cmd.def_.colname} ... REFERENCES {target} validates "
                            f"the new foreign key on {table} at once",
                            lock=lock_text(str(table), target),
                            blocking=BlockingStep(Step.FK_VALIDATION, str(table), target),
                            recipe="Add the column without REFERENCES, then ADD CONSTRAINT ... "
                            "FOREIGN KEY ... NOT VALID, and VALIDATE CONSTRAINT in a later "
                            "migration.",
                        )

    def _sql_finding(self, ctx: StatementContext, table: str, con: Any) -> Finding:
        target = relname(con.pktable) or "?"
        columns = names(con.fk_attrs)
        name = con.conname or f"{table}_{'_'.join(columns)}_fkey"
        return self.finding(
            ctx,
            f"ADD FOREIGN KEY {name} from {table} to {target} without NOT VALID checks every row "
            "while writes to both tables wait",
            lock=lock_text(table, target),
            blocking=BlockingStep(Step.FK_VALIDATION, table, target),
            recipe=statement_recipe(ctx.sql) or f"{HINT} (name it: {name})",
        )
