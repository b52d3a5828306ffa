"""SO219 alter-column-type-with-check: a type change re-verifies the column's CHECK constraints.

## What it does
Flags a column type change that PostgreSQL makes *without* a rewrite
(``AlterField`` or ``ALTER COLUMN ... TYPE`` in ``RunSQL``, e.g. a wider
``varchar``, or ``varchar`` to ``text``) on a column that has CHECK
constraints: a ``CheckConstraint`` in ``Meta.constraints`` that mentions the
field, or the built-in check of a ``PositiveIntegerField``-style field. Also
an ``AlterField`` that only changes ``db_comment`` or ``db_collation``:
Django then re-applies the column's type (``ALTER COLUMN ... TYPE`` of the
same type), which re-validates the checks just the same.
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
from typing import Any

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
        if old_type is None or new_type is None:
            return
        column = ctx.column(op.name, old)
        if old_type == new_type:
            # Django's _alter_field re-applies the type for a new comment or collation
            # (ALTER COLUMN ... TYPE <the same type>): the checks are re-validated too
            changed = [
                attr
                for attr in ("db_comment", "db_collation")
                if getattr(old, attr, None) != getattr(op.field, attr, None)
            ]
            what = f"changes the {' and '.join(changed)} of {ctx.table}.{column}, for which "
            what += f"Django re-applies its type (ALTER COLUMN TYPE {new_type})"
        elif not binary_coercible(old_type, new_type):
            return  # a rewrite: SO206
        else:
            changed = ["type"]
            what = f"changes {ctx.table}.{column} from {old_type} to {new_type} without a rewrite"
        checks = type_change_checks(ctx, old, op.field) if changed else []
        if checks:
            finding = self._finding(
                ctx, f"AlterField {ctx.model_name}.{op.name} {what}", ctx.table, column, checks
            )
            from schemaops.plan import django_index_name

            builtin = django_index_name(ctx.table, [column], "_check")
            if checks == [builtin] and ctx.step.sql:
                finding.recipe = _builtin_check_recipe(ctx, column, builtin)
            yield finding

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


def _builtin_check_recipe(ctx: OperationContext, column: str, name: str) -> str:
    """The AlterField's own SQL between dropping the positive field's CHECK and adding it
    back NOT VALID, the field kept in the state; VALIDATE in the next migration. The
    CHECK is named by PostgreSQL (``<table>_<column>_check``) when the column was created
    with it, by Django (``name``) when an AlterField added it: both are dropped."""
    from django.db import migrations

    from schemaops.remedy.planner import MigrationSpec, Remedy
    from schemaops.remedy.sql import render_steps

    t, inline = ident(ctx.table), f"{ctx.table}_{column}_check"[:63]
    sql: list[Any] = [
        *(f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {ident(n)}" for n in (inline, name)),
        *(text.strip().rstrip(";") for text in ctx.step.sql or ()),
        f"ALTER TABLE {t} ADD CONSTRAINT {ident(name)} CHECK ({ident(column)} >= 0) NOT VALID",
    ]
    alter = migrations.SeparateDatabaseAndState(
        state_operations=[ctx.operation],
        database_operations=[migrations.RunSQL(sql, migrations.RunSQL.noop)],
    )
    validate: list[Any] = [f"ALTER TABLE {t} VALIDATE CONSTRAINT {ident(name)}"]
    steps = [
        MigrationSpec("expand", [alter]),
        MigrationSpec("validate", [migrations.RunSQL(validate, migrations.RunSQL.noop)]),
    ]
    summary = "drop the column's CHECK around the ALTER, add it back NOT VALID, VALIDATE next"
    return render_steps(Remedy("not-valid-then-validate", summary, steps))
