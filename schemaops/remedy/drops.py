"""A ``RunSQL`` that drops columns or tables before the deploy: the drop after it.

The old code, still running during the rollout, reads what the statements drop
(SO101, SO102). The remedy is the expand/contract of ``RemoveField`` and
``DeleteModel``, written for SQL:

- before the deploy, what the new code needs: the models stop using what is
  dropped (``RemoveField`` / ``DeleteModel`` in the state only, with the line
  saying what to delete from models.py, when the state still has it after the
  operation), and a dropped column is made nullable (``DROP NOT NULL``) so the
  new code's INSERTs, which leave it out, work while it still exists; the
  ``RunSQL``'s own state operations stay here;
- after the deploy, the user's statements unchanged, with the user's reverse,
  in a post-deploy migration (``deploy_phase = "post"``).

Only a column an INSERT without it would fail on is touched: given the field's
constant default as its DEFAULT (the old code, still reading it, never meets a
NULL), else made nullable; a column only raw SQL knew is made nullable anyway
(a no-op when it was). Only a ``RunSQL`` made of such drops, in a
pre-deploy migration, is planned; one dropping a model other models point at
or inherit from, a model with many-to-many fields, a join table, another app's
field or a primary key keeps the rules' recipe.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pglast import ast, enums

from schemaops.statements import AT, ident, names, relname

if TYPE_CHECKING:
    from django.db.migrations.state import ModelState, ProjectState

    from schemaops.remedy.planner import PlanContext, Remedy

DROP_AFTER_DEPLOY = "drop-after-deploy"
Column = tuple[str, str]  # (table, column)
Dropped = tuple[str, str | None]  # (table, column), or (table, None) for the table


def plan_sql_drops(
    op: Any, app_label: str, state: ProjectState, context: PlanContext
) -> Remedy | None:
    """The remedy of a pre-deploy ``RunSQL`` ``op`` whose statements only drop columns
    and tables; None for any other ``RunSQL``, or when the drop cannot be planned."""
    from schemaops.remedy.sqlops import statement_nodes

    if context.post_phase:
        return None
    nodes = context.statements if context.statements is not None else statement_nodes(op.sql)
    dropped = _drops(nodes or [])
    if not dropped or any(table in context.new_tables for table, _ in dropped):
        return None
    after = state.clone()
    op.state_forwards(app_label, after)
    removals: list[Any] = []
    for table, column in dropped:
        if _still_used(after, table, column):
            removal = _state_removal(after, app_label, table, column)
            if removal is None:
                return None
            removals.append(removal)
    columns = [(t, c) for t, c in dropped if c is not None]
    relax, tighten = _relaxations(state, app_label, columns, context.pg_version)
    return _remedy(op, app_label, relax, tighten, dropped, removals)


def _drops(nodes: list[Any]) -> list[Dropped]:
    """(table, column) of every ``DROP COLUMN``, (table, None) of every ``DROP TABLE``;
    empty when a statement is anything else (the RunSQL is not only drops)."""
    out: list[Dropped] = []
    for node in nodes:
        if isinstance(node, ast.AlterTableStmt) and node.objtype == enums.ObjectType.OBJECT_TABLE:
            cmds = list(node.cmds or ())
            if not cmds or any(cmd.subtype != AT.AT_DropColumn for cmd in cmds):
                return []
            out.extend((str(relname(node.relation)), str(cmd.name)) for cmd in cmds)
        elif isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_TABLE:
            out.extend((names(obj)[-1], None) for obj in node.objects or ())
        else:
            return []
    return out


def _still_used(state: ProjectState, table: str, column: str | None) -> bool:
    """Do the models of ``state`` still use ``table`` (``column``): a model's table, one
    of its columns, or an auto-created many-to-many join table?"""
    from schemaops.catalog import join_tables
    from schemaops.plan import model_with_column

    if column is not None:
        return model_with_column(state, table, column) is not None
    return table in join_tables(state) or _model_of(state, table) is not None


def _model_of(state: ProjectState, table: str) -> ModelState | None:
    from schemaops.plan import db_table_for

    for model in state.models.values():
        if db_table_for(model.app_label, model.name, model.options) == table:
            return model
    return None


def _state_removal(state: ProjectState, app_label: str, table: str, column: str | None) -> Any:
    """``RemoveField`` / ``DeleteModel`` taking what is dropped out of the state, or None
    when this app's migration cannot do that alone (see the module's docstring)."""
    from django.db import migrations

    from schemaops.plan import column_for

    model = _model_of(state, table)
    if model is None or model.app_label != app_label:
        return None  # a join table, or another app's model
    if column is not None:
        for name, f in model.fields.items():
            if column_for(name, f) == column and not f.many_to_many:
                primary = getattr(f, "primary_key", False)
                return None if primary else migrations.RemoveField(model.name_lower, name)
        return None
    if any(f.many_to_many for f in model.fields.values()) or _needed_by_others(state, model):
        return None
    return migrations.DeleteModel(model.name)


def _needed_by_others(state: ProjectState, model: ModelState) -> bool:
    """Does another model point at ``model`` (a relation) or inherit from it?"""
    from schemaops.plan import resolve_relation

    key = (model.app_label, model.name_lower)
    for other in state.models.values():
        if other is model:
            continue
        bases = [b for b in other.bases if isinstance(b, str)]
        if any(resolve_relation(b, other.app_label) == key for b in bases):
            return True
        for f in other.fields.values():
            remote = getattr(f, "remote_field", None)
            if remote is not None and (
                resolve_relation(remote.model, other.app_label, other.name_lower) == key
            ):
                return True
    return False


def _relaxations(
    state: ProjectState, app_label: str, columns: list[Column], pg_version: int
) -> tuple[list[str], list[str]]:
    """What lets the new code's INSERTs leave the dropped columns out while they exist
    (:func:`keep_insertable`), and the reverse's statements undoing it."""
    from schemaops.columns import insert_may_omit
    from schemaops.plan import column_for, db_table_for

    known: dict[Column, tuple[Any, str, Any]] = {}
    for m in state.models.values():
        table = db_table_for(m.app_label, m.name, m.options)
        for name, f in m.fields.items():
            if not f.many_to_many:
                known[(table, column_for(name, f))] = (m, name, f)
    relax: list[str] = []
    undo: list[str] = []
    for table, column in dict.fromkeys(columns):
        model, name, f = known.get((table, column), (None, "", None))
        if f is not None and insert_may_omit(f):
            continue
        where = (model.app_label, model.name_lower, name) if model is not None else None
        forward, backward = keep_insertable(state, where, f, table, column, pg_version)
        relax.append(forward)
        undo.insert(0, backward)
    return relax, undo


def keep_insertable(
    state: ProjectState,
    where: tuple[str, str, str] | None,
    field: Any,
    table: str,
    column: str,
    pg_version: int,
) -> tuple[str, str]:
    """The statement letting an INSERT leave NOT NULL ``column`` out while it still exists,
    and its undo: the field's constant default as the column's DEFAULT (the old code,
    still reading the column, never meets a NULL), else ``DROP NOT NULL``. ``where``:
    (app label, model name, field name) of ``field`` in ``state``; None for a column
    only raw SQL knows (its NOT NULL is not known: the undo restores nothing)."""
    statement = f"ALTER TABLE {ident(table)} ALTER COLUMN {ident(column)}"
    value = _default_sql(state, where, field, pg_version) if where is not None else None
    if value is not None:
        return f"{statement} SET DEFAULT {value}", f"{statement} DROP DEFAULT"
    undo = f"{statement} SET NOT NULL" if where is not None else ""
    return f"{statement} DROP NOT NULL", undo


def _default_sql(
    state: ProjectState, where: tuple[str, str, str], field: Any, pg_version: int
) -> str | None:
    """The SQL of the field's constant default as Django writes a ``db_default``; None for
    no default, a callable one, or a value Django would not write as a plain literal."""
    from django.db import migrations
    from django.db.models import Value

    from schemaops.plan import operation_sql
    from schemaops.remedy.fill import _clone, _set_default_expr

    default = getattr(field, "default", None)
    if not field.has_default() or not isinstance(default, str | int | float | Decimal):
        return None
    app_label, model_name, name = where
    with_default = _clone(field, db_default=Value(default))
    try:
        forwards, _ = operation_sql(
            migrations.AlterField(model_name, name, with_default), app_label, state, pg_version
        )
    except Exception:  # a field Django cannot write a default for offline
        return None
    values = [v for v in map(_set_default_expr, forwards) if v is not None]
    return values[0] if len(values) == 1 else None


def _remedy(
    op: Any,
    app_label: str,
    relax: list[str],
    undo: list[str],
    dropped: list[Dropped],
    removals: list[Any],
) -> Remedy:
    from django.db import migrations

    from schemaops.remedy.planner import MigrationSpec, Remedy, run_sql

    state_operations = [*(getattr(op, "state_operations", None) or []), *removals]
    steps = []
    if relax or state_operations:
        expand = migrations.SeparateDatabaseAndState(
            state_operations=state_operations,
            database_operations=[run_sql(relax, [u for u in undo if u])] if relax else [],
        )
        steps.append(MigrationSpec("expand", [expand]))
    contract = migrations.RunSQL(
        op.sql, reverse_sql=op.reverse_sql, hints=op.hints or None, elidable=op.elidable
    )
    steps.append(MigrationSpec("contract", [contract], post=True))
    what = ", ".join(f"{t}.{c}" if c else f"table {t}" for t, c in dropped)
    summary = f"drop {what} in a post-deploy migration, once no running code reads it"
    if removals:
        summary += "; before the deploy, the models stop using it (state only)"
    if relax:
        summary += "; before the deploy, the new code's INSERTs may leave the column out"
    instructions = [
        f"delete {_named(r)} from {app_label}/models.py (the state no longer has it)"
        for r in removals
    ]
    return Remedy(DROP_AFTER_DEPLOY, summary, steps, instructions=instructions)


def _named(removal: Any) -> str:
    from django.db import migrations

    if isinstance(removal, migrations.DeleteModel):
        return f"the model {removal.name}"
    return f"the field {removal.model_name}.{removal.name}"
