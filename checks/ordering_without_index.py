"""SO502 ordering-without-index: ``Meta.ordering`` sorts by a column no index leads with.

## What it does
Flags a model of the checked migrations whose ``Meta.ordering`` starts with
a field that is not the first column of any usable index (primary key,
unique, ``db_index``, ``Meta.indexes``, ``UniqueConstraint``,
``unique_together``, or a ``CREATE INDEX`` in ``RunSQL``) in the final
project state. Reported at the operation that set the ordering or removed
the index. Orderings on related fields (``customer__name``) and random
ordering (``?``) are not judged.

## Why is this bad?
``Meta.ordering`` applies to every query on the model that does not call
``order_by()``: the admin changelist, paginated APIs, ``.first()``. Without
an index PostgreSQL reads the whole table and sorts it for each of them,
even to show 20 rows; the cost grows with the table until the page times out.

## Example
```python
migrations.AlterModelOptions("order", {"ordering": ["-placed_at"]})
```

## Use instead
Add the index the ordering needs, concurrently (``atomic = False``):
```python
AddIndexConcurrently("order", models.Index(fields=["-placed_at"], name="order_placed_at_idx"))
```

## References
- https://docs.djangoproject.com/en/stable/ref/models/options/#ordering
- https://www.postgresql.org/docs/current/indexes-ordering.html
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


def plain_prefix(ordering: Any) -> list[str]:
    """The leading plain fields of an ordering (``["-placed_at", "id"]``), as written."""
    out = []
    for item in ordering or ():
        if not isinstance(item, str) or plain_field(item) is None:
            break
        out.append(item)
    return out


def unindexed_ordering(model: Any) -> dict[str, str]:
    fields = plain_prefix(model.options.get("ordering"))
    if not fields:
        return {}
    name = fields[0].lstrip("-")
    column = "id" if name == "pk" else column_of(model, name)
    if column is None or column in leading_columns(model):
        return {}
    return {"ordering": column}


class OrderingWithoutIndex(Rule):
    code = "SO502"
    name = "ordering-without-index"
    summary = "Meta.ordering sorts by a column that no index leads with"
    severity = Severity.INFO
    category = "indexes"

    def check_final(self, ctx: FinalContext) -> Iterator[Finding]:
        for op, model, _key, column in final_problems(ctx, unindexed_ordering):
            ordering = plain_prefix(model.options.get("ordering"))
            yield self.finding(
                op,
                f"{model.name}.Meta.ordering = {ordering!r} sorts {table_of(model)} by "
                f"{column}, which no index leads with: every unordered query on "
                f"{model.name} reads and sorts the whole table",
                recipe=new_index_recipe(ctx, model, ordering),
            )
