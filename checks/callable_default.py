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
``schemaops fix`` writes it: the column added nullable before the deploy
(the state keeps the callable ``default``, so the new code gives new rows
their own value; a known SQL equivalent such as ``gen_random_uuid()`` or
``now()`` is the column's DEFAULT until then, for the old code's inserts);
the existing rows filled one by one with ``schemaops backfill`` (``--set``
with the SQL equivalent, or a generated ``Backfill`` class in
``<app>/backfills.py`` that calls the default for each row); after the
deploy, NOT NULL through a validated CHECK and the unique index built
``CONCURRENTLY`` and attached with ``UNIQUE USING INDEX``.

## References
- https://docs.djangoproject.com/en/stable/howto/writing-migrations/#migrations-that-add-unique-fields
- https://github.com/ankane/strong_migrations#adding-a-column-with-a-volatile-default-value
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.findings import Finding, Severity
from schemaops.locks import Lock
from schemaops.remedy.fill import callable_name, per_row_default
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
        default = per_row_default(op.field)
        if ctx.new_table or default is None or getattr(op.field, "many_to_many", False):
            return
        func = callable_name(default)
        column = ctx.column(op.name, op.field)
        unique = " (unique=True: the migration fails on the second row)" if op.field.unique else ""
        yield self.finding(
            ctx,
            f"AddField {ctx.model_name}.{op.name} calls {func}() once: every existing row of "
            f"{ctx.table} gets the same {column}{unique}; each existing row needs its own "
            "value, filled with `schemaops backfill`",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, "briefly (no rewrite)"),
        )  # the remedy is the planner's (schemaops.remedy.fill): expand, backfill, contract
