"""SO608 add-enum-value-without-position: an enum label is added without BEFORE or AFTER.

## What it does
Flags ``ALTER TYPE ... ADD VALUE`` without ``BEFORE`` or ``AFTER`` in
``RunSQL``. An enum type created earlier in the same migration is exempt.

## Why is this bad?
An enum sorts by declaration order, not alphabetically: ``ORDER BY``,
``<``, ``min()`` and range checks on the column all use it. Without a
position the new label goes last, which is right only by accident when the
labels describe an order (``draft < sent < paid``). Saying where it goes
documents the intent; moving a label later is impossible without
recreating the type.

## Example
```python
migrations.RunSQL("ALTER TYPE order_status ADD VALUE 'refunded'")
```

## Use instead
```python
migrations.RunSQL("ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded' AFTER 'paid'")
```

## References
- https://www.postgresql.org/docs/current/datatype-enum.html#DATATYPE-ENUM-ORDERING
- https://squawkhq.com/docs/require-enum-value-ordering
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.checks._analysis import created_earlier, literal
from schemaops.findings import Finding, Severity
from schemaops.rules import Rule, StatementContext
from schemaops.statements import names


class AddEnumValueWithoutPosition(Rule):
    code = "SO608"
    name = "add-enum-value-without-position"
    summary = "An enum value is added without BEFORE or AFTER, so it sorts last"
    severity = Severity.INFO
    category = "hygiene"
    statements = ("AlterEnumStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        if node.oldVal or not node.newVal or node.newValNeighbor:
            return
        type_name = names(node.typeName)[-1]
        if created_earlier(ctx, "type", type_name):
            return
        yield self.finding(  # the remedy (the position written down) is the planner's
            ctx,
            f"ALTER TYPE {type_name} ADD VALUE {literal(str(node.newVal))} has no BEFORE or AFTER: "
            "it sorts after every existing label",
        )
