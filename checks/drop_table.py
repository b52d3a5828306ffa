"""SO102 drop-table: a table is dropped while old code may still query it.

## What it does
Flags ``DeleteModel``, ``RemoveField`` of a ``ManyToManyField`` without a
``through`` model (Django drops its join table), ``DROP TABLE`` on a table
that existed before this migration, and ``DROP VIEW`` / ``DROP MATERIALIZED
VIEW`` of a view the migration does not create again, in a pre-deploy
migration (an error when a model reads the view, else a warning: raw SQL or
reports may). In a post-deploy migration the drop is the contract half, flagged
only when the models still have the table or view (a database-only drop, or
an unmanaged model over the view): the deployed code queries it.

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
from pglast import ast, enums

from schemaops.catalog import join_table, join_tables
from schemaops.checks._data import model_for_table
from schemaops.checks._expand_contract import state_then_drop
from schemaops.findings import Finding, Severity
from schemaops.locks import Lock
from schemaops.phases import POST
from schemaops.plan import column_for
from schemaops.rules import MigrationContext, OperationContext, Rule, StatementContext
from schemaops.statements import ident, relname

_VIEWS = (enums.ObjectType.OBJECT_VIEW, enums.ObjectType.OBJECT_MATVIEW)


class DropTable(Rule):
    code = "SO102"
    name = "drop-table"
    summary = "A table is dropped while the old code may still query it"
    category = "breaking"
    operations = (migrations.DeleteModel, migrations.RemoveField)
    statements = ("DropStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        if ctx.new_table or ctx.before is None:
            return
        if ctx.migration.phase == POST:
            if isinstance(ctx.operation, migrations.DeleteModel):
                yield from self._post_deploy(ctx, ctx.table)
            return
        if isinstance(ctx.operation, migrations.RemoveField):
            yield from self._join_table(ctx)
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

    def _post_deploy(
        self, ctx: OperationContext | StatementContext, table: str
    ) -> Iterator[Finding]:
        """The contract phase: only a table the models still have is a break."""
        state = ctx.migration.state
        model = model_for_table(state, table)
        join = join_tables(state).get(table)
        if join is not None:
            owner = f"the many-to-many {join.owner}.{join.field}"
        elif model is not None and _managed(model):
            owner = model.name
        else:
            return
        yield self.finding(
            ctx,
            f"post-deploy migration drops {table} from the database while the models still "
            f"have it ({owner}): the deployed code queries it",
            lock=_lock(table, []),
            recipe="Remove the model from the state first (DeleteModel, or "
            "SeparateDatabaseAndState state_operations in the pre-deploy migration shipped with "
            "the code that no longer uses it); drop the table post-deploy only after that.",
        )

    def _join_table(self, ctx: OperationContext) -> Iterator[Finding]:
        """RemoveField of an auto-created many-to-many: ``DROP TABLE`` of its join table."""
        op, owner = ctx.operation, ctx.before
        if owner is None:
            return
        field = ctx.field_before(op.name)
        target = None
        if field is not None and getattr(field, "many_to_many", False):
            from django.db.migrations.utils import resolve_relation

            key = resolve_relation(field.remote_field.model, ctx.app_label, owner.name.lower())
            target = ctx.migration.state.models.get(key)
        join = join_table(owner, op.name, field, target) if field is not None else None
        if join is None:
            return
        parents = [ctx.table, ctx.related_table(field)]
        yield self.finding(
            ctx,
            f"RemoveField {owner.name}.{op.name} drops the many-to-many table {join.table} "
            "(DROP TABLE) while the running code still queries it",
            lock=_lock(join.table, parents),
            recipe=self._join_recipe(ctx, op, join.table),
        )

    def _join_recipe(self, ctx: OperationContext, op: Any, table: str) -> str:
        return state_then_drop(
            ctx,
            f"{op.model_name_lower}_{op.name}",
            f'migrations.RemoveField("{op.model_name}", "{op.name}")',
            ["SET LOCAL lock_timeout = '5s'", f"DROP TABLE IF EXISTS {ident(table)}"],
            (
                f"# 1. pre-deploy, shipped with the code that no longer uses {op.name}:",
                "# 2. post-deploy: the join table (retry on lock timeout):",
            ),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        if node.removeType != enums.ObjectType.OBJECT_TABLE:
            return
        for parts in node.objects or ():
            table = str(parts[-1].sval)
            if ctx.is_new_table(table):
                continue
            if ctx.migration.phase == POST:
                yield from self._post_deploy(ctx, table)
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

    def check_migration(self, ctx: MigrationContext) -> Iterator[Finding]:
        """``DROP VIEW`` / ``DROP MATERIALIZED VIEW`` of a view this migration does not
        create (before: it is new; after: the drop-and-recreate way of changing a view)."""
        # a view the migration creates, before the drop (a new view) or after it (the
        # drop-and-recreate way of changing a view), is no view the running code loses
        created = {_created_view(s.node) for s in ctx.statements}
        for sctx in ctx.statements:
            node = sctx.node
            if not isinstance(node, ast.DropStmt) or node.removeType not in _VIEWS:
                continue
            kind = "MATERIALIZED VIEW" if node.removeType == _VIEWS[1] else "VIEW"
            for parts in node.objects or ():
                view = str(parts[-1].sval)
                if view in created:
                    continue
                model = model_for_table(ctx.state, view)
                if ctx.phase == POST:
                    if model is not None:
                        yield self._view_modelled_post(sctx, view, kind, model.name)
                    continue
                # a model over the view: the running code queries it for certain; else
                # only raw SQL or reports may (a warning: nothing Django knows breaks)
                yield self.finding(
                    sctx,
                    f"DROP {kind} {view} in a pre-deploy migration breaks the running code "
                    + (
                        f"that still queries it ({model.name})"
                        if model is not None
                        else "if anything still queries it (raw SQL, reports)"
                    ),
                    lock=Lock.ACCESS_EXCLUSIVE.on(view),
                    severity=None if model is not None else Severity.WARNING,
                    recipe="Move this statement into a post-deploy migration "
                    '(deploy_phase = "post"), applied after the code stops using the view; '
                    "to change a view, drop and create it again in the same migration, or "
                    "CREATE OR REPLACE VIEW when only columns are added at the end.",
                )

    def _view_modelled_post(
        self, ctx: StatementContext, view: str, kind: str, model: str
    ) -> Finding:
        return self.finding(
            ctx,
            f"post-deploy migration drops {kind} {view} while the models still read it "
            f"({model}): the deployed code queries it",
            lock=Lock.ACCESS_EXCLUSIVE.on(view),
            recipe=f"Remove {model} from the code and the state first (DeleteModel in the "
            "pre-deploy migration shipped with that code); drop the view post-deploy only "
            "after that.",
        )

    def _recipe(
        self,
        ctx: OperationContext,
        model: str,
        fks: list[tuple[str, str, str]],
        through: list[str],
    ) -> str:
        statements = ["SET LOCAL lock_timeout = '5s'"]
        statements += [
            f"ALTER TABLE {ident(ctx.table)} DROP CONSTRAINT IF EXISTS {ident(name)}"
            for _, name, _ in fks
        ]
        statements += [f"DROP TABLE IF EXISTS {ident(t)}" for t in (*through, ctx.table)]
        return state_then_drop(
            ctx,
            model.lower(),
            f'migrations.DeleteModel("{model}")',
            statements,
            (
                f"# 1. pre-deploy, shipped with the code that no longer uses {model}:",
                "# 2. post-deploy: each foreign key, then the table (retry on lock timeout):",
            ),
        )


def foreign_keys(ctx: OperationContext, fields: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(column, Django's default constraint name, referenced table) for each FK field."""
    from schemaops.plan import django_index_name

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
        out.append((column, django_index_name(ctx.table, [column], suffix), parent))
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


def _created_view(node: Any) -> str | None:
    """The name of the view (or materialized view) ``node`` creates, if it creates one."""
    if isinstance(node, ast.ViewStmt):
        return relname(node.view)
    matview = isinstance(node, ast.CreateTableAsStmt) and node.objtype == _VIEWS[1]
    if matview and node.into is not None:
        return relname(node.into.rel)
    return None


def _managed(model: Any) -> bool:
    options = model.options
    return bool(options.get("managed", True)) and not options.get("proxy", False)


def _lock(table: str, parents: list[str]) -> str:
    text = Lock.ACCESS_EXCLUSIVE.on(table)
    for parent in dict.fromkeys(parents):
        if parent != table:
            text += f"; {Lock.ACCESS_EXCLUSIVE.on(parent, '(referenced by a foreign key)')}"
    return text
