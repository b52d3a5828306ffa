"""SO107 add-field-not-null-without-db-default: old code's INSERTs fail on the new column.

## What it does
Flags ``AddField`` of a NOT NULL column (``null=False``) on an existing
table without a database default (``db_default``), and
``AlterOrderWithRespectTo`` that adds the ``_order`` column the same way.
Exempt: tables created in the same migration, ``db_default`` set,
``null=True``, many-to-many fields (their own table) and primary keys
(other rules). In ``RunSQL``, the same two shapes: ``ADD COLUMN ... NOT
NULL`` without a ``DEFAULT``, and ``ADD COLUMN ... NOT NULL DEFAULT ...``
followed by ``ALTER COLUMN ... DROP DEFAULT`` in the same migration (what
Django does for a Python default).

## Why is this bad?
Django adds the column with the Python ``default`` as a temporary
``DEFAULT`` to fill the existing rows, then drops that ``DEFAULT`` in the
same migration. From then on the column is NOT NULL with no default, and
every INSERT of the previous release (which does not know the column)
fails with a NOT NULL violation until the new code is everywhere. The
``ALTER TABLE`` also takes an ACCESS EXCLUSIVE lock, briefly.

## Example
```python
field = models.CharField(max_length=20, default="new")
operations = [migrations.AddField("order", "status", field)]
```

## Use instead
On Django 5+, give the field ``db_default`` (a default the database keeps,
so old INSERTs get it). Otherwise add the column nullable, backfill it with
``schemaops backfill``, and enforce NOT NULL post-deploy through a
``CHECK (...) NOT VALID`` + ``VALIDATE`` + ``SET NOT NULL``.

## References
- https://docs.djangoproject.com/en/stable/ref/models/fields/#db-default
- https://github.com/3YOURMIND/django-migration-linter/blob/main/docs/incompatibilities.md
- https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django
from django.db import migrations

from schemaops.checks._data import callable_qualname, has_code_default, has_db_default
from schemaops.checks._lockmap_ops import effective_default
from schemaops.columns import has_column
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import AT, CONSTR, alter_commands, column_constraints, ident


class AddFieldNotNullWithoutDbDefault(Rule):
    code = "SO107"
    name = "add-field-not-null-without-db-default"
    summary = "A NOT NULL column without a database default breaks the old code's INSERTs"
    category = "additive"
    operations = (migrations.AddField, migrations.AlterOrderWithRespectTo)
    statements = ("AlterTableStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for table, cmd in alter_commands(ctx.node):
            if table is None or ctx.is_new_table(table):
                continue
            if cmd.subtype == AT.AT_AddColumn:
                constraints = {con.contype for con in column_constraints(cmd.def_)}
                if (
                    CONSTR.CONSTR_NOTNULL in constraints
                    and CONSTR.CONSTR_DEFAULT not in constraints
                ):
                    yield self._sql_finding(
                        ctx,
                        table,
                        cmd.def_.colname,
                        "has no DEFAULT: ADD COLUMN fails on a "
                        "non-empty table and the running code's INSERTs fail",
                    )
            elif (
                cmd.subtype == AT.AT_ColumnDefault
                and cmd.def_ is None
                and (table, cmd.name) in _added_not_null_with_default(ctx)
            ):
                yield self._sql_finding(
                    ctx,
                    table,
                    cmd.name,
                    "loses the DEFAULT it was added with: the running "
                    "code, which does not send the column, fails on every INSERT",
                )

    def _sql_finding(self, ctx: StatementContext, table: str, column: str, why: str) -> Finding:
        return self.finding(
            ctx,
            f"NOT NULL column {table}.{column} {why}",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, "briefly (no rewrite)"),
            recipe="Keep a constant DEFAULT on the column (ADD COLUMN ... NOT NULL DEFAULT ..., "
            "no DROP DEFAULT) until every server runs code that sends a value; drop the "
            'DEFAULT, if at all, in a post-deploy migration (deploy_phase = "post").',
        )

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if isinstance(op, migrations.AlterOrderWithRespectTo):
            yield from self._order_column(ctx, op)
            return
        field = op.field
        if ctx.new_table or getattr(field, "null", False) or has_db_default(field):
            return
        if getattr(field, "primary_key", False) or not has_column(field):
            return
        if getattr(field, "generated", False):
            return  # GeneratedField: the database computes it
        column = ctx.column(op.name, field)
        where = f"{ctx.table}.{column} ({ctx.model_name}.{op.name})"
        if has_code_default(field):
            why = (
                "has only a Python default: Django drops the column DEFAULT right after "
                "ADD COLUMN, so the running code's INSERTs fail"
            )
        elif effective_default(field):
            why = (
                f"has no default of its own: Django fills the existing rows with "
                f"DEFAULT {_implicit_default_sql(field)} and drops it right after ADD COLUMN, "
                "so the running code's INSERTs fail"
            )
        else:
            why = "has no default: ADD COLUMN fails on a non-empty table and old INSERTs fail"
        one_line = _db_default_code(field)
        if one_line is not None:
            why += f" (the one-line fix: db_default={one_line[0]})"
        yield self.finding(
            ctx,
            f"AddField {where} is NOT NULL and {why}",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, "briefly (no rewrite)"),
            recipe=self._recipe(ctx, op, column),
        )

    def _order_column(self, ctx: OperationContext, op: Any) -> Iterator[Finding]:
        """Setting order_with_respect_to adds ``_order integer NOT NULL``, its DEFAULT 0 dropped."""
        before = ctx.before
        if ctx.new_table or before is None or before.options.get("order_with_respect_to"):
            return
        if not op.order_with_respect_to:
            return
        table = ctx.table
        yield self.finding(
            ctx,
            f"AlterOrderWithRespectTo {ctx.model_name} adds {table}._order NOT NULL and drops "
            "its DEFAULT 0 right after, so the running code's INSERTs fail",
            lock=Lock.ACCESS_EXCLUSIVE.on(table, "briefly (no rewrite)"),
            recipe=_order_recipe(ctx, op),
        )

    def _recipe(self, ctx: OperationContext, op: Any, column: str) -> str:
        """Words only: the planner (``schemaops.remedy.fill``) writes the migrations.

        Where the database can keep the Python default itself, the fix is one
        argument, ``db_default``, and the recipe says which; otherwise it is the
        expand/backfill/contract sequence ``schemaops fix`` writes.
        """
        one_line = _db_default_code(op.field)
        if one_line is not None:
            code, imports = one_line
            needs = "".join(f"; {line}" for line in sorted(imports) if not _models_import(line))
            return (
                f"Give {ctx.model_name}.{op.name} db_default={code} (in models.py and in this "
                f"AddField{needs}): the database keeps the default, so the running code's "
                "INSERTs get it."
            )
        return (
            f"Add {op.name} nullable before the deploy, fill the existing rows of {ctx.table}."
            f"{column} with schemaops backfill, then make it NOT NULL after the deploy (CHECK "
            "... NOT VALID, VALIDATE, SET NOT NULL); `schemaops fix` writes these migrations."
        )


def _order_recipe(ctx: OperationContext, op: Any) -> str:
    """The operation in the state, the ``_order`` column with its DEFAULT 0 kept in the
    database: a migration module from the planner's writer."""
    from schemaops.remedy.writer import migration_module

    table = ident(ctx.table)
    database = migrations.RunSQL(
        f"ALTER TABLE {table} ADD COLUMN _order integer NOT NULL DEFAULT 0",
        reverse_sql=f"ALTER TABLE {table} DROP COLUMN _order",
    )
    keep = migrations.SeparateDatabaseAndState(
        state_operations=[op], database_operations=[database]
    )
    name = f"XXXX_{op.name_lower}_order_with_respect_to"
    deps = list(ctx.migration.dependencies)
    return (
        f"# {ctx.app_label}/migrations/{name}.py: the DEFAULT 0 stays, so old INSERTs get 0\n"
        + migration_module(ctx.app_label, name, [keep], deps)
    )


def _added_not_null_with_default(ctx: StatementContext) -> set[tuple[str, str]]:
    """Columns that earlier statements of this migration added NOT NULL with a DEFAULT."""
    out = set()
    for earlier in ctx.migration.statements:
        if earlier.node is ctx.node:
            break
        for table, cmd in alter_commands(earlier.node):
            if table is None or cmd.subtype != AT.AT_AddColumn:
                continue
            constraints = {con.contype for con in column_constraints(cmd.def_)}
            if {CONSTR.CONSTR_NOTNULL, CONSTR.CONSTR_DEFAULT} <= constraints:
                out.add((table, cmd.def_.colname))
    return out


def _db_default_for(field: Any) -> Any | None:
    """A db_default equivalent to the field's Python default (None: there is none).

    Only defaults the database can apply to existing rows without a rewrite:
    constants, and ``timezone.now`` as ``Now()`` (stable, evaluated once).
    """
    if not has_code_default(field):
        return _implicit_db_default(field)
    default = field.default
    if callable(default):
        if callable_qualname(default) != "django.utils.timezone.now":
            return None
        from django.db.models.functions import Now

        return Now()
    return default


def _implicit_db_default(field: Any) -> Any | None:
    """The db_default equal to what Django fills in without a default (``''``, now())."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        from django.db.models.functions import Now

        return Now()
    if effective_default(field):
        return b"" if field.get_internal_type() == "BinaryField" else ""
    return None


def _implicit_default_sql(field: Any) -> str:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return "now()"
    return "''"


def _models_import(line: str) -> bool:
    """``from django.db import models``: a models.py and a migration have it already."""
    return line in ("from django.db import models", "from django.db import migrations, models")


def _db_default_code(field: Any) -> tuple[str, set[str]] | None:
    """The code of the db_default that keeps the field's default in the database, with
    its imports (Django 5+); None when the database cannot keep it (a per-row callable)."""
    if django.VERSION < (5, 0):
        return None
    value = _db_default_for(field)
    return None if value is None else _code_of(value)


def _code_of(value: Any) -> tuple[str, set[str]]:
    """``value`` as code with its imports: Django's serializer (what the planner's writer
    uses), except ``Now()``, written as models.py writes it rather than by module path."""
    from django.db.migrations.serializer import serializer_factory
    from django.db.models.functions import Now

    if isinstance(value, Now):
        return "Now()", {"from django.db.models.functions import Now"}
    code, imports = serializer_factory(value).serialize()
    return str(code), set(imports)
