"""SO105 alter-db-column: an AlterField renames the column through db_column.

## What it does
Flags ``AlterField`` when the field's database column changes: ``db_column``
set, changed or removed so that the column gets another name, or a foreign
key turned into a plain field (``page_id`` becomes ``page``) or back.
Setting ``db_column`` to the name the column already has is not flagged.

## Why is this bad?
Django carries out the change as ``ALTER TABLE ... RENAME COLUMN``: instant,
under a brief ACCESS EXCLUSIVE lock, but the previous release, still
running during the rollout, queries the old column name and fails on every
query of the model until the new code is everywhere.

## Example
```python
field = models.CharField(max_length=20, db_column="order_code")
operations = [migrations.AlterField("order", "code", field)]
```

## Use instead
Keep ``db_column`` equal to the column that exists. If the column name has
to change, add the new column, write both, backfill with
``schemaops backfill``, switch the reads and drop the old column in a
post-deploy migration.

## References
- https://docs.djangoproject.com/en/stable/ref/models/fields/#db-column
- https://github.com/ankane/strong_migrations#renaming-a-column
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations

from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import OperationContext, Rule


class AlterDbColumn(Rule):
    code = "SO105"
    name = "alter-db-column"
    summary = "An AlterField renames the column while the old code still uses it"
    category = "breaking"
    operations = (migrations.AlterField,)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        old = ctx.field_before(op.name)
        if ctx.new_table or old is None or getattr(old, "many_to_many", False):
            return
        old_col, new_col = ctx.column(op.name, old), ctx.column(op.name, op.field)
        if old_col == new_col:
            return
        yield self.finding(
            ctx,
            f"AlterField {ctx.model_name}.{op.name} renames column {ctx.table}.{old_col} to "
            f"{new_col} ({_why(old, op.field)}) while the running code still uses {old_col}",
            lock=Lock.ACCESS_EXCLUSIVE.on(ctx.table, "briefly (no rewrite)"),
            recipe=self._recipe(ctx, op, old_col, new_col),
        )

    def _recipe(self, ctx: OperationContext, op: Any, old_col: str, new_col: str) -> str:
        """Prose only: the planner (schemaops.remedy.rename) writes the migration."""
        return (
            f'Keep the column: db_column="{old_col}" on {ctx.model_name}.{op.name} in '
            f"models.py (no database change). If the column must be called {new_col}: add "
            f"it, write both, backfill with schemaops backfill, switch the reads, then drop "
            f"{old_col} in a post-deploy migration."
        )


def _why(old: Any, new: Any) -> str:
    """What renames the column: db_column, or a relation that becomes a plain field."""
    if getattr(old, "db_column", None) != getattr(new, "db_column", None):
        return "db_column"
    if _is_relation(old) and not _is_relation(new):
        return "a foreign key becomes a plain field, so the _id suffix goes"
    return "a plain field becomes a foreign key, so the column gets an _id suffix"


def _is_relation(field: Any) -> bool:
    return bool(getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False))
