"""SO102 drop-table: a table is dropped while old code may still query it.

## What it does
Flags ``DeleteModel`` and ``DROP TABLE`` on a table that existed before this
migration, in a pre-deploy migration.

## Why is this bad?
The previous release keeps running during the rollout, and every query it
makes on the model fails the moment the table is gone. ``DROP TABLE`` takes
an ACCESS EXCLUSIVE lock on the table **and on every table its foreign keys
reference** (dropping the constraint removes triggers on the parent), so a
drop waiting behind one long transaction on the child also stops all reads
and writes of the parent (django-pg-zero-downtime-migrations#25: eight minutes).

## Example
```python
operations = [migrations.DeleteModel("Coupon")]
```

## Use instead
Remove the model from the code and from the migration *state* only, deploy,
then drop its foreign keys one by one under a short ``lock_timeout`` and
the table itself in a post-deploy migration (``deploy_phase = "post"``).

## References
- https://www.postgresql.org/docs/current/sql-droptable.html
- https://github.com/tbicr/django-pg-zero-downtime-migrations/issues/25
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#separatedatabaseandstate
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations
from pglast import enums

from schemaops.checks._data import model_for_table
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.plan import column_for
from schemaops.remedy.code import join_steps, migration_code
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import ident


class DropTable(Rule):
    code = "SO102"
    name = "drop-table"
    summary = "A table is dropped while the old code may still query it"
    category = "additive"
    operations = (migrations.DeleteModel,)
    statements = ("DropStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        if ctx.new_table or ctx.before is None:
            return
        model = ctx.before
        fks = foreign_keys(ctx, model.fields)
        through = m2m_tables(ctx.table, model.fields)
        extra = f" and its many-to-many tables {', '.join(through)}" if through else ""
        yield self.finding(
            ctx,
            f"DeleteModel drops {ctx.table} ({model.name}){extra} while the running code "
            "still queries it",
            lock=_lock(ctx.table, [parent for _, _, parent in fks]),
            recipe=self._recipe(ctx, model.name, fks, through),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        if node.removeType != enums.ObjectType.OBJECT_TABLE:
            return
        for parts in node.objects or ():
            table = str(parts[-1].sval)
            if ctx.is_new_table(table):
                continue
            state = model_for_table(ctx.migration.state, table)
            parents = []
            if state is not None:
                parents = [p for _, _, p in foreign_keys(ctx.operation, state.fields)]
            yield self.finding(
                ctx,
                f"DROP TABLE {table} in a pre-deploy migration breaks the running code "
                "that still queries it",
                lock=_lock(table, parents),
                recipe="Move this statement into a post-deploy migration "
                '(deploy_phase = "post"), applied after the code stops using the table; '
                "drop its foreign keys first, each in its own statement under a short "
                "lock_timeout.",
            )

    def _recipe(
        self,
        ctx: OperationContext,
        model: str,
        fks: list[tuple[str, str, str]],
        through: list[str],
    ) -> str:
        pre = migration_code(
            ctx,
            [
                "migrations.SeparateDatabaseAndState(",
                f'    state_operations=[migrations.DeleteModel("{model}")],',
                "),",
            ],
            name=f"remove_{model.lower()}_from_state",
        )
        statements = ["SET LOCAL lock_timeout = '5s'"]
        statements += [
            f"ALTER TABLE {ident(ctx.table)} DROP CONSTRAINT IF EXISTS {ident(name)}"
            for _, name, _ in fks
        ]
        statements += [f"DROP TABLE IF EXISTS {ident(t)}" for t in (*through, ctx.table)]
        post = migration_code(
            ctx,
            [
                "migrations.RunSQL(",
                "    [",
                *[f"        {s!r}," for s in statements],
                "    ],",
                "    reverse_sql=migrations.RunSQL.noop,",
                "),",
            ],
            name=f"drop_{model.lower()}",
            phase="post",
            after=f"remove_{model.lower()}_from_state",
        )
        return join_steps(
            f"# 1. pre-deploy, shipped with the code that no longer uses {model}:",
            pre,
            "# 2. post-deploy: each foreign key, then the table (retry on lock timeout):",
            post,
        )


def foreign_keys(ctx: OperationContext, fields: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(column, Django's default constraint name, referenced table) for each FK field."""
    from schemaops.checks._indexes import index_name

    out = []
    for name, field in fields.items():
        if not (getattr(field, "many_to_one", False) or getattr(field, "one_to_one", False)):
            continue
        if not getattr(field, "db_constraint", True):
            continue
        parent = ctx.related_table(field)
        column = column_for(name, field)
        to_column = getattr(field, "to_fields", None) or ["id"]
        suffix = f"_fk_{parent}_{to_column[0] or 'id'}"
        out.append((column, index_name(ctx.table, column, suffix), parent))
    return out


def m2m_tables(table: str, fields: dict[str, Any]) -> list[str]:
    """Auto-created many-to-many tables, which DeleteModel drops too."""
    from django.db.backends.utils import truncate_name

    out = []
    for name, field in fields.items():
        if not getattr(field, "many_to_many", False) or field.remote_field.through:
            continue
        out.append(str(field.db_table or truncate_name(f"{table}_{name}", 63)))
    return out


def _lock(table: str, parents: list[str]) -> str:
    text = Lock.ACCESS_EXCLUSIVE.on(table)
    for parent in dict.fromkeys(parents):
        if parent != table:
            text += f"; {Lock.ACCESS_EXCLUSIVE.on(parent, '(referenced by a foreign key)')}"
    return text
