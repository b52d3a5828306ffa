"""SO107 add-field-not-null-without-db-default: old code's INSERTs fail on the new column.

## What it does
Flags ``AddField`` of a NOT NULL column (``null=False``) on an existing
table without a database default (``db_default``), and
``AlterOrderWithRespectTo`` that adds the ``_order`` column the same way.
Exempt: tables created in the same migration, ``db_default`` set,
``null=True``, many-to-many fields (their own table) and primary keys
(other rules).

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

from schemaops.checks._data import (
    callable_qualname,
    expand_backfill_contract,
    has_code_default,
    has_db_default,
    imports_for,
)
from schemaops.columns import has_column
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.remedy.code import migration_code, with_kwargs
from schemaops.rules import OperationContext, Rule
from schemaops.statements import ident


class AddFieldNotNullWithoutDbDefault(Rule):
    code = "SO107"
    name = "add-field-not-null-without-db-default"
    summary = "A NOT NULL column without a database default breaks the old code's INSERTs"
    category = "additive"
    operations = (migrations.AddField, migrations.AlterOrderWithRespectTo)

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
        else:
            why = "has no default: ADD COLUMN fails on a non-empty table and old INSERTs fail"
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
            recipe=migration_code(
                ctx,
                [
                    "migrations.SeparateDatabaseAndState(",
                    f"    state_operations=[migrations.AlterOrderWithRespectTo("
                    f'"{op.name}", "{op.order_with_respect_to}")],',
                    "    database_operations=[migrations.RunSQL(",
                    f"        'ALTER TABLE {ident(table)} ADD COLUMN _order integer "
                    "NOT NULL DEFAULT 0',  # the DEFAULT stays: old INSERTs get 0",
                    f"        reverse_sql='ALTER TABLE {ident(table)} DROP COLUMN _order',",
                    "    )],",
                    "),",
                ],
                name=f"{op.name_lower}_order_with_respect_to",
            ),
        )

    def _recipe(self, ctx: OperationContext, op: Any, column: str) -> str:
        model, name, field = op.model_name, op.name, op.field
        db_default = _db_default_for(field) if django.VERSION >= (5, 0) else None
        if db_default is None:
            return expand_backfill_contract(ctx, op, column)
        value, imports = db_default
        return migration_code(
            ctx,
            [f'migrations.AddField("{model}", "{name}", {with_kwargs(field, db_default=value)}),'],
            name=f"{model}_{name}",
            imports=imports,
        )


def _db_default_for(field: Any) -> tuple[Any, str] | None:
    """A db_default equivalent to the field's Python default, with the imports it needs.

    Only defaults the database can apply to existing rows without a rewrite:
    constants, and ``timezone.now`` as ``Now()`` (stable, evaluated once).
    """
    if not has_code_default(field):
        return None
    default = field.default
    imports = imports_for(field)
    if callable(default):
        if callable_qualname(default) != "django.utils.timezone.now":
            return None
        from django.db.models.functions import Now

        return Now(), "from django.db.models.functions import Now\n" + imports
    module, cls = type(default).__module__, type(default).__name__
    if module != "builtins":  # repr() is Decimal('1.50') or datetime.date(2026, 1, 1)
        plain = repr(default).startswith(f"{cls}(")
        line = f"from {module} import {cls}" if plain else f"import {module}"
        imports = f"{line}\n{imports}"
    return default, imports
