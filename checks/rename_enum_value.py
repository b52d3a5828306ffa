"""SO113 rename-enum-value: an enum label is renamed while the old code still uses it.

## What it does
Flags ``ALTER TYPE ... RENAME VALUE`` in ``RunSQL``. An enum type created
earlier in the same migration is exempt.

## Why is this bad?
The rename takes no table lock and is instant, but the old label stops
existing the moment the migration commits. The previous release, still
serving requests during the rollout, writes and filters by the old label:
its INSERTs and UPDATEs fail with ``invalid input value for enum`` and its
queries silently stop matching, until the new code is everywhere. Rolling
the code back afterwards breaks the same way.

## Example
```python
operations = [migrations.RunSQL("ALTER TYPE order_status RENAME VALUE 'sent' TO 'shipped'")]
```

## Use instead
Add the new label (``ALTER TYPE ... ADD VALUE IF NOT EXISTS``), deploy code
that writes the new label and reads both, backfill the rows in batches
(``schemaops backfill``), then stop reading the old label. PostgreSQL
cannot drop an enum label: the old one stays in the type, unused (or
replace the enum with a lookup table and a foreign key).

## References
- https://www.postgresql.org/docs/current/sql-altertype.html
- https://github.com/ankane/strong_migrations (``rename_enum_value``)
"""

from __future__ import annotations

from collections.abc import Iterator

from schemaops.checks._analysis import created_earlier, literal
from schemaops.findings import Finding
from schemaops.rules import Rule, StatementContext
from schemaops.statements import ident, names


class RenameEnumValue(Rule):
    code = "SO113"
    name = "rename-enum-value"
    summary = "An enum value is renamed while the old code still uses the old label"
    category = "breaking"
    statements = ("AlterEnumStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        if not node.oldVal:
            return
        type_name = names(node.typeName)[-1]
        if created_earlier(ctx, "type", type_name):
            return
        old, new = str(node.oldVal), str(node.newVal)
        qualified = ".".join(ident(part) for part in names(node.typeName))
        yield self.finding(
            ctx,
            f"ALTER TYPE {qualified} RENAME VALUE {literal(old)} TO {literal(new)}: the running "
            f"code still writes and filters by {literal(old)}, which stops existing on commit",
        )  # the remedy (add the label, backfill) is the planner's: schemaops.remedy.sqlops
