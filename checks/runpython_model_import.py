"""SO304 runpython-model-import: a data migration uses today's model class.

## What it does
Flags ``RunPython`` whose function (or ``reverse_code``) uses a model class
imported directly (``from orders.models import Order``) instead of the
historical model from ``apps.get_model``. It reads the function's code
objects and globals, so it sees ``Order`` and ``models.Order`` alike.

## Why is this bad?
A migration runs against the schema *as of that migration*, but an
imported class describes the schema of the latest code. As soon as a later
migration adds a field, the class selects a column that does not exist yet
at this point of the history: a fresh database (CI, a new developer, a
restore) cannot be migrated, and custom managers or ``save()`` overrides
run code the migration never expected.

## Example
```python
from orders.models import Order

def fill_status(apps, schema_editor):
    Order.objects.filter(status="").update(status="new")
```

## Use instead
```python
def fill_status(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.filter(status="").update(status="new")
```

## References
- https://docs.djangoproject.com/en/stable/topics/migrations/#historical-models
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#runpython
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.checks._data import imported_models, unwrap
from schemaops.findings import Finding
from schemaops.rules import OperationContext, Rule


class RunPythonModelImport(Rule):
    code = "SO304"
    name = "runpython-model-import"
    summary = "RunPython uses an imported model class instead of apps.get_model"
    category = "hygiene"
    operations = (migrations.RunPython,)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        for func in (op.code, op.reverse_code):
            if func is None or func is migrations.RunPython.noop:
                continue
            found = imported_models(func)
            if not found:
                continue
            fname = getattr(unwrap(func), "__name__", "the function")
            used = ", ".join(name for name, _ in found)
            lines = [
                f"def {fname}(apps, schema_editor):",
                *[
                    f'    {m.__name__} = apps.get_model("{m._meta.app_label}", "{m.__name__}")'
                    for _, m in found
                ],
                "    ...  # the body, unchanged; drop the model imports at the top of the file",
            ]
            yield self.finding(
                ctx,
                f"RunPython({fname}) uses the model class {used} imported from the code, "
                "not the historical model: it breaks once a later migration changes the model",
                recipe="\n".join(lines),
            )
