"""SO219 alter-column-type-with-check: a type change re-verifies the column's CHECK constraints.

## What it does
Flags a column type change that PostgreSQL makes *without* a rewrite
(``AlterField`` or ``ALTER COLUMN ... TYPE`` in ``RunSQL``, e.g. a wider
``varchar``, or ``varchar`` to ``text``) on a column that has CHECK
constraints: a ``CheckConstraint`` in ``Meta.constraints`` that mentions the
field, or the built-in check of a ``PositiveIntegerField``-style field.
A change that rewrites the table is SO206's finding; tables created in the
same migration are exempt. Checks added with ``RunSQL`` are not in Django's
state, so they are not seen.

## Why is this bad?
PostgreSQL drops and re-creates every constraint that depends on the
column, and a re-created CHECK constraint is validated again: the whole
table is read while the ALTER TABLE holds ACCESS EXCLUSIVE, so reads and
writes wait for a full scan even though no row is rewritten.

## Example
```python
operations = [
    # Meta.constraints has CheckConstraint(condition=~Q(code=""), name="code_not_blank")
    migrations.AlterField("order", "code", models.CharField(max_length=40)),
]
```

## Use instead
Remove the checks, change the type (nothing to re-validate: no scan), add
them back ``NOT VALID`` and validate them in the next migration (SHARE
UPDATE EXCLUSIVE: reads and writes go on). ``schemaops fix`` writes it for
an ``AlterField`` (see docs/fix.md):
```python
operations = [
    migrations.RemoveConstraint("order", "code_not_blank"),
    migrations.AlterField("order", "code", models.CharField(max_length=40)),
]
# next: the check added back NOT VALID (the state keeps it), then VALIDATE CONSTRAINT
```

## References
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
- https://github.com/ankane/strong_migrations (``change_column_constraint``)
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.checks._lockmap import StateSchema
from schemaops.checks._lockmap_ops import column_type, type_change_checks
from schemaops.columns import binary_coercible, type_from_node
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import AT, alter_commands, ident


class AlterColumnTypeWithCheck(Rule):
    code = "SO219"
    name = "alter-column-type-with-check"
    summary = "A type change re-verifies the column's CHECK constraints under lock"
    category = "locking"
    operations = (migrations.AlterField,)
    statements = ("AlterTableStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        old = ctx.field_before(op.name)
        if ctx.new_table or ctx.before is None or old is None:
            return
        if old.many_to_many or op.field.many_to_many:
            return
        old_type, new_type = column_type(ctx, old), column_type(ctx, op.field)
        if old_type is None or new_type is None or old_type == new_type:
            return
        if not binary_coercible(old_type, new_type):
            return  # a rewrite: SO206
        checks = type_change_checks(ctx, old, op.field)
        if checks:
            column = ctx.column(op.name, old)
            yield self._finding(
                ctx,
                f"AlterField {ctx.model_name}.{op.name} changes {ctx.table}.{column} from "
                f"{old_type} to {new_type} without a rewrite",
                ctx.table,
                column,
                checks,
            )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        schema: StateSchema | None = None
        for table, cmd in alter_commands(ctx.node):
            if cmd.subtype != AT.AT_AlterColumnType or table is None or ctx.is_new_table(table):
                continue
            if cmd.def_.raw_default is not None:
                continue  # USING: a rewrite, SO206
            schema = schema or StateSchema(ctx.migration.state, ctx.migration.target.pg_version)
            old, new = schema.column_type(table, cmd.name), type_from_node(cmd.def_.typeName)
            if old is None or new is None or not binary_coercible(old, new):
                continue
            dropped = _dropped_checks(ctx, table)
            checks = [c for c in schema.check_constraints(table, cmd.name) if c not in dropped]
            if checks:
                yield self._finding(
                    ctx,
                    f"ALTER COLUMN {cmd.name} TYPE {new} on {table} (from {old}) needs no rewrite",
                    table,
                    str(cmd.name),
                    checks,
                )

    def _finding(
        self,
        ctx: OperationContext | StatementContext,
        what: str,
        table: str,
        column: str,
        checks: list[str],
    ) -> Finding:
        listed = ", ".join(checks)
        return self.finding(
            ctx,
            f"{what}, but PostgreSQL re-creates and re-validates its CHECK constraint(s) "
            f"{listed}: a full scan while the table is locked",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, f"while every row is checked against {listed}"),
            recipe=_recipe(table, column, checks, getattr(ctx, "sql", None)),
        )


def _dropped_checks(ctx: StatementContext, table: str) -> set[str]:
    """Constraints earlier statements of this migration dropped from ``table``."""
    out = set()
    for earlier in ctx.migration.statements:
        if earlier.node is ctx.node:
            break
        for altered, cmd in alter_commands(earlier.node):
            if altered == table and cmd.subtype == AT.AT_DropConstraint:
                out.add(str(cmd.name))
    return out


def _recipe(table: str, column: str, checks: list[str], change: str | None) -> str:
    """What to do instead, as SQL: the planner writes the migrations for an AlterField
    (its remedy replaces this text); a RunSQL's own statement is ``change``."""
    t = ident(table)
    lines = ["-- 1. one migration: drop the checks, change the type (no scan), add them back"]
    lines += [f"ALTER TABLE {t} DROP CONSTRAINT {ident(name)};" for name in checks]
    lines.append(f"{change.rstrip(';')};" if change else "-- (the type change)")
    for name in checks:
        # Django's only built-in checks are the positive integer fields' (col >= 0)
        builtin = name.endswith("_check") and name.startswith(f"{table}_{column}_")
        condition = f"{ident(column)} >= 0" if builtin else "<its condition, as before>"
        lines.append(f"ALTER TABLE {t} ADD CONSTRAINT {ident(name)} CHECK ({condition}) NOT VALID;")
    lines.append("-- 2. the next migration (SHARE UPDATE EXCLUSIVE: reads and writes go on):")
    lines += [f"ALTER TABLE {t} VALIDATE CONSTRAINT {ident(name)};" for name in checks]
    return "\n".join(lines)
