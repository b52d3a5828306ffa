"""SO108 callable-default: a callable default is evaluated once for every existing row.

## What it does
Flags ``AddField`` on an existing table whose ``default`` is a callable
(``uuid.uuid4``, ``timezone.now``, a function of your own). Callables that
return an equal value anyway (``dict``, ``list``...) are not flagged.

## Why is this bad?
Django calls the default once, in Python, and adds the column with that
single value as its ``DEFAULT``: every existing row gets the *same* UUID,
token or timestamp. With ``unique=True`` the migration fails on the second
row; without it, the rows silently share a value that was meant to be
unique or row-specific.

## Example
```python
field = models.UUIDField(default=uuid.uuid4)
operations = [migrations.AddField("order", "token", field)]
```

## Use instead
Add the column nullable (keep the callable ``default`` so new rows get
their own value), fill the existing rows with a per-row SQL expression using
``schemaops backfill`` (``gen_random_uuid()``, ``now()``), then make it NOT
NULL / unique post-deploy.

## References
- https://docs.djangoproject.com/en/stable/howto/writing-migrations/#migrations-that-add-unique-fields
- https://github.com/ankane/strong_migrations#adding-a-column-with-a-volatile-default-value
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.checks._data import (
    CONSTANT_FACTORIES,
    callable_qualname,
    expand_backfill_contract,
    has_code_default,
)
from schemaops.findings import Finding, Severity
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule


class CallableDefault(Rule):
    code = "SO108"
    name = "callable-default"
    summary = "A callable default gives every existing row the same value"
    severity = Severity.WARNING
    category = "hygiene"
    operations = (migrations.AddField,)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        default = getattr(op.field, "default", None)
        if ctx.new_table or not has_code_default(op.field) or not callable(default):
            return
        if default in CONSTANT_FACTORIES:
            return
        if getattr(op.field, "many_to_many", False):
            return
        func = callable_qualname(default)
        column = ctx.column(op.name, op.field)
        unique = " (unique=True: the migration fails on the second row)" if op.field.unique else ""
        yield self.finding(
            ctx,
            f"AddField {ctx.model_name}.{op.name} calls {func}() once: every existing row of "
            f"{ctx.table} gets the same {column}{unique}",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, "briefly (no rewrite)"),
            recipe=self._recipe(ctx, op, column),
        )

    def _recipe(self, ctx: OperationContext, op: Any, column: str) -> str:
        return expand_backfill_contract(ctx, op, column)
