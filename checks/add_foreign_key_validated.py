"""SO204 add-foreign-key-validated: a foreign key is validated while both tables are locked.

## What it does
Flags a foreign key constraint added to an existing table and validated in
the same statement: ``AddField`` of a ``ForeignKey``/``OneToOneField`` with
``db_constraint=True`` (Django's default), ``AlterField`` that (re)creates
the constraint (turning ``db_constraint`` on, or any database change to a
foreign key, which Django implements by dropping and re-adding it), and
``ADD FOREIGN KEY`` / ``ADD COLUMN ... REFERENCES`` without ``NOT VALID`` in
``RunSQL``.

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
from schemaops.checks._lockmap_ops import target_pk
from schemaops.checks._lockrecipes import (
    Code,
    django_name,
    run_sql,
    separate,
    validate_sql,
    variant,
)
from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.plan import column_for
from schemaops.remedy.code import django_kind, join_steps, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import CONSTR, alter_commands, column_constraints, ident, names, relname
from schemaops.stats.model import Step

AT_ADD_CONSTRAINT, AT_ADD_COLUMN = "AT_AddConstraint", "AT_AddColumn"


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
        if not any(s.action == "ADD FOREIGN KEY" and s.slow for s in operation_steps(ctx)):
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
            recipe=self._recipe(ctx, op, target),
        )

    def _recipe(self, ctx: OperationContext, op: Any, target: str) -> str:
        field, table = op.field, ctx.table
        column = ctx.column(op.name, field)
        target_field = target_pk(ctx, field)
        target_column = _target_column(ctx, field, target_field)
        fk = django_name(table, [column], f"_fk_{target}_{target_column}")
        code = Code()
        db_field = code.field(field, db_constraint=False, db_index=False)
        db_ops = [f'migrations.{django_kind(op)}("{op.model_name}", "{op.name}", {db_field}),']
        adding_index = field.db_index and not (
            isinstance(op, migrations.AlterField)
            and getattr(ctx.field_before(op.name), "db_index", False)
        )
        if adding_index:
            index = django_name(table, [column], "")
            db_ops.append(
                run_sql(
                    f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ident(index)} ON {ident(table)} "
                    f"({ident(column)})",
                    f"DROP INDEX CONCURRENTLY IF EXISTS {ident(index)}",
                )
            )
        db_ops.append(
            run_sql(
                f"ALTER TABLE {ident(table)} ADD CONSTRAINT {ident(fk)} FOREIGN KEY "
                f"({ident(column)}) REFERENCES {ident(target)} ({ident(target_column)}) "
                "DEFERRABLE INITIALLY DEFERRED NOT VALID",
                f"ALTER TABLE {ident(table)} DROP CONSTRAINT IF EXISTS {ident(fk)}",
            )
        )
        name = f"{op.model_name}_{op.name}_fk_not_valid"
        first = migration_code(
            ctx,
            [separate([code.op(op)], db_ops)],
            atomic=not adding_index,
            name=name,
            imports=code.header(),
        )
        second = migration_code(
            ctx,
            [validate_sql(table, fk)],
            name=f"{op.model_name}_{op.name}_fk_validate",
            after=name,
        )
        return join_steps(first, "# then, in the next migration:", second)

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
        cmd_sql = variant(ctx.node, cmds=(_with_constraint(ctx.node, con, name),))
        first = migration_code(ctx.operation, [run_sql(cmd_sql)], name=f"{name}_not_valid")
        second = migration_code(
            ctx.operation,
            [validate_sql(table, name)],
            name=f"{name}_validate",
            after=f"{name}_not_valid",
        )
        return self.finding(
            ctx,
            f"ADD FOREIGN KEY {name} from {table} to {target} without NOT VALID checks every row "
            "while writes to both tables wait",
            lock=lock_text(table, target),
            blocking=BlockingStep(Step.FK_VALIDATION, table, target),
            recipe=join_steps(first, "# then, in the next migration:", second),
        )


def _with_constraint(node: Any, con: Any, name: str) -> Any:
    import copy

    for cmd in node.cmds:
        if cmd.def_ is con:
            clone = copy.deepcopy(cmd)
            clone.def_.skip_validation = True
            clone.def_.initially_valid = False
            clone.def_.conname = name
            return clone
    raise LookupError(name)


def _target_column(ctx: OperationContext, field: Any, target_field: Any) -> str:
    if target_field is None:
        return "id"
    from django.db.migrations.utils import resolve_relation

    key = resolve_relation(field.remote_field.model, ctx.app_label, ctx.model_name.lower())
    model = ctx.migration.state.models.get(key)
    for name, candidate in model.fields.items() if model else ():
        if candidate is target_field:
            return column_for(name, candidate)
    return "id"
