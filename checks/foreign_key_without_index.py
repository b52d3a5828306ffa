"""SO501 foreign-key-without-index: a foreign key column that no index leads with.

## What it does
Flags a ``ForeignKey`` with ``db_index=False``, or a ``FOREIGN KEY`` added in
``RunSQL``, whose column is not the first column of any index, unique
constraint or primary key of its table in the *final* project state: an
index added by a later migration (``AddIndex``, ``AddIndexConcurrently``, a
``UniqueConstraint`` or ``unique_together`` starting with the column, or a
``CREATE INDEX`` in ``RunSQL``) counts, and so do the indexes Django
creates on both columns of a many-to-many join table. Reported at the
operation that added or altered the field (or removed its last index).

## Why is this bad?
Deleting a row of the referenced table, or changing its key, makes
PostgreSQL check the referencing table for rows that point at it, and
Django's ``on_delete`` collector queries it too: without an index each of
those is a sequential scan of the whole table, once per deleted row. Joins
from the parent to its children (``customer.order_set``) scan it as well.
Cheap while the table is small, then suddenly a timeout.

## Example
```python
migrations.AddField(
    "order", "customer",
    models.ForeignKey("customers.customer", models.CASCADE, db_index=False, null=True),
)
```

## Use instead
Index it without blocking writes, in a migration with ``atomic = False``:
```python
AddIndexConcurrently("order", models.Index(fields=["customer"], name="order_customer_idx"))
```
(and the same ``models.Index`` in the model's ``Meta.indexes``), or lead a
composite index or unique constraint with the column.

## References
- https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK
- https://www.cybertec-postgresql.com/en/index-your-foreign-key/
- eugene E15 (missing index on a foreign key)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import models

from schemaops.catalog import join_tables
from schemaops.coverage import (
    column_of,
    final_problems,
    leading_columns,
    sql_covered,
    sql_foreign_keys,
    table_of,
)
from schemaops.findings import Finding, Severity
from schemaops.remedy.sql import new_index_recipe
from schemaops.rules import FinalContext, Rule


def unindexed_foreign_keys(model: Any) -> dict[str, str]:
    """field name -> column of every ForeignKey no index leads with."""
    covered = leading_columns(model)
    out = {}
    for name, field in model.fields.items():
        if isinstance(field, models.ForeignKey):
            column = column_of(model, name)
            if column and column not in covered:
                out[name] = column
    return out


class ForeignKeyWithoutIndex(Rule):
    code = "SO501"
    name = "foreign-key-without-index"
    summary = "A foreign key column has no index leading with it"
    severity = Severity.WARNING
    category = "indexes"

    def check_final(self, ctx: FinalContext) -> Iterator[Finding]:
        for op, model, name, column in final_problems(ctx, unindexed_foreign_keys):
            table = table_of(model)
            parent = op.related_table(model.fields[name])
            yield self.finding(
                op,
                f"ForeignKey {model.name}.{name} ({table}.{column} -> {parent}) has "
                f"db_index=False and no index leads with {column}: every DELETE on {parent} "
                f"scans {table} to find the rows pointing at it",
                recipe=new_index_recipe(ctx, model, [name]),
            )
        yield from self._sql_foreign_keys(ctx)

    def _sql_foreign_keys(self, ctx: FinalContext) -> Iterator[Finding]:
        models_by_table = {table_of(m): m for m in ctx.state.models.values()}
        joins = join_tables(ctx.state)
        migrations = {id(op.migration): op.migration for op in ctx.operations}
        for mctx in migrations.values():
            for sctx in mctx.statements:  # the linter parsed them already
                op = sctx.operation
                for table, column, parent in sql_foreign_keys(sctx.node):
                    model = models_by_table.get(table)
                    if model is not None and column in leading_columns(model):
                        continue
                    if table in joins and column in joins[table].indexed_columns:
                        continue  # Django indexes both columns of a join table
                    if sql_covered(ctx.graph, table, column):
                        continue
                    yield self.finding(
                        op,
                        f"FOREIGN KEY {table}.{column} -> {parent} has no index leading with "
                        f"{column}: every DELETE on {parent} scans {table} to find the rows "
                        "pointing at it",
                        recipe=_sql_recipe(table, column),
                    )


def _sql_recipe(table: str, column: str) -> str:
    from schemaops.remedy.sql import plan_sql_index, render_steps

    remedy = plan_sql_index(table, column)
    if remedy is None:
        return f"Build an index on {table} ({column}) CONCURRENTLY, in a non-atomic migration"
    return render_steps(remedy)
