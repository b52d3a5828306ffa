"""SO301 runpython-without-reverse: a data migration that cannot be rolled back.

## What it does
Flags ``RunPython`` without ``reverse_code``.

## Why is this bad?
``migrate app <previous>`` raises ``IrreversibleError`` at this migration,
so a bad deploy cannot be rolled back past it. When the forward step only
fills data for a new column, the honest reverse is a no-op.

## Example
```python
operations = [migrations.RunPython(fill_status)]
```

## Use instead
```python
operations = [migrations.RunPython(fill_status, reverse_code=migrations.RunPython.noop)]
```
Better still, move the data change out of the migration into
``schemaops backfill``, which runs in small batches and can be paused.

## References
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#runpython
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.findings import Finding, Severity
from schemaops.rules import OperationContext, Rule


class RunPythonWithoutReverse(Rule):
    code = "SO301"
    name = "runpython-without-reverse"
    summary = "RunPython without reverse_code makes the migration irreversible"
    severity = Severity.WARNING
    category = "rollback"
    operations = (migrations.RunPython,)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if op.reverse_code is not None:
            return
        func = getattr(op.code, "__name__", "the function")
        yield self.finding(
            ctx,
            f"RunPython({func}) has no reverse_code: rolling back past "
            f"{ctx.app_label}.{ctx.migration.name} raises IrreversibleError",
            recipe=f"migrations.RunPython({func}, reverse_code=migrations.RunPython.noop)",
        )
