"""SO503 latest-by-without-index: ``Meta.get_latest_by`` names a column no index leads with.

## What it does
Flags a model of the checked migrations whose ``Meta.get_latest_by`` (first
field) is not the first column of any usable index (primary key, unique,
``db_index``, ``Meta.indexes``, ``UniqueConstraint``, ``unique_together``,
or a ``CREATE INDEX`` in ``RunSQL``) in the final project state. Reported
at the operation that set it or removed the index.

## Why is this bad?
``Model.objects.latest()`` and ``earliest()`` run ``ORDER BY <field> DESC
LIMIT 1``. With an index that is one index probe; without one PostgreSQL
reads the whole table to find a single row, on every call, typically on a
hot path ("latest order of this customer", "last sync").

## Example
```python
migrations.AlterModelOptions("order", {"get_latest_by": "placed_at"})
```

## Use instead
```python
AddIndexConcurrently("order", models.Index(fields=["placed_at"], name="order_placed_at_idx"))
```
in a migration with ``atomic = False``.

## References
- https://docs.djangoproject.com/en/stable/ref/models/options/#get-latest-by
- https://docs.djangoproject.com/en/stable/ref/models/querysets/#latest
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from schemaops.coverage import (
    column_of,
    final_problems,
    leading_columns,
    plain_field,
    table_of,
)
from schemaops.findings import Finding, Severity
from schemaops.remedy.sql import new_index_recipe
from schemaops.rules import FinalContext, Rule


def latest_field(model: Any) -> str | None:
    value = model.options.get("get_latest_by")
    first = value if isinstance(value, str) else next(iter(value or ()), None)
    return plain_field(first) if isinstance(first, str) else None


def unindexed_latest_by(model: Any) -> dict[str, str]:
    name = latest_field(model)
    column = None if name is None else ("id" if name == "pk" else column_of(model, name))
    if column is None or column in leading_columns(model):
        return {}
    return {"get_latest_by": column}


class LatestByWithoutIndex(Rule):
    code = "SO503"
    name = "latest-by-without-index"
    summary = "Meta.get_latest_by names a column that no index leads with"
    severity = Severity.INFO
    category = "indexes"

    def check_final(self, ctx: FinalContext) -> Iterator[Finding]:
        for op, model, _key, column in final_problems(ctx, unindexed_latest_by):
            name = latest_field(model) or column
            yield self.finding(
                op,
                f"{model.name}.Meta.get_latest_by = {name!r}, but no index of "
                f"{table_of(model)} leads with {column}: every {model.name}.objects.latest() "
                "reads the whole table to return one row",
                recipe=new_index_recipe(ctx, model, [name]),
            )
