"""A ``RunSQL`` that drops columns or tables before the deploy: the drop after it.

The old code, still running during the rollout, reads what the statements drop
(SO101, SO102). When the models no longer use it (the state does not have it
after the operation: an earlier migration removed it from the state only, the
``RunSQL``'s own ``state_operations`` remove it, or only raw SQL ever knew it),
the remedy is the contract half of expand/contract, written for SQL:

- before the deploy, what the new code needs: a dropped column made nullable
  (``DROP NOT NULL``), so the new code's INSERTs, which leave it out, work
  while it still exists; the ``RunSQL``'s state operations stay here;
- after the deploy, the user's statements unchanged, with the user's reverse,
  in a post-deploy migration (``deploy_phase = "post"``).

A column whose NOT NULL is known (the field the state had) is relaxed only when
an INSERT without it would fail; a column only raw SQL knew is relaxed anyway
(a no-op when it was nullable). Only a ``RunSQL`` made of such drops is planned
here; a mixed one, or one dropping what the models still use (the code must
stop using it first: the rules' recipe says how), keeps the other planners'
answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pglast import ast, enums

from schemaops.statements import AT, ident, names, relname

if TYPE_CHECKING:
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import PlanContext, Remedy

DROP_AFTER_DEPLOY = "drop-after-deploy"
Column = tuple[str, str]  # (table, column)


def plan_sql_drops(
    op: Any, app_label: str, state: ProjectState, context: PlanContext
) -> Remedy | None:
    """The remedy of a pre-deploy ``RunSQL`` ``op`` whose statements only drop columns
    and tables the models no longer use; None for any other ``RunSQL``."""
    from schemaops.remedy.sqlops import _nodes

    if context.post_phase:
        return None
    dropped = _drops(_nodes(op.sql) or [])
    if not dropped or any(table in context.new_tables for table, _ in dropped):
        return None
    after = state.clone()
    op.state_forwards(app_label, after)
    if any(_still_used(after, table, column) for table, column in dropped):
        return None
    relax, tighten = _relaxations(state, [(t, c) for t, c in dropped if c is not None])
    return _remedy(op, relax, tighten, dropped)


def _drops(nodes: list[Any]) -> list[tuple[str, str | None]]:
    """(table, column) of every ``DROP COLUMN``, (table, None) of every ``DROP TABLE``;
    empty when a statement is anything else (the RunSQL is not only drops)."""
    out: list[tuple[str, str | None]] = []
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
    from schemaops.plan import db_table_for, model_with_column

    if column is not None:
        return model_with_column(state, table, column) is not None
    if table in join_tables(state):
        return True
    return any(db_table_for(m.app_label, m.name, m.options) == table for m in state.models.values())


def _relaxations(state: ProjectState, columns: list[Column]) -> tuple[list[str], list[str]]:
    """``DROP NOT NULL`` for the columns an INSERT without them may fail on, and the
    reverse's ``SET NOT NULL`` for those known NOT NULL (the field the state had)."""
    from schemaops.columns import insert_may_omit
    from schemaops.plan import column_for, db_table_for

    known: dict[Column, Any] = {}
    for m in state.models.values():
        table = db_table_for(m.app_label, m.name, m.options)
        for name, f in m.fields.items():
            if not f.many_to_many:
                known[(table, column_for(name, f))] = f
    relax, tighten = [], []
    for table, column in dict.fromkeys(columns):
        f = known.get((table, column))
        if f is not None and insert_may_omit(f):
            continue
        statement = f"ALTER TABLE {ident(table)} ALTER COLUMN {ident(column)}"
        relax.append(f"{statement} DROP NOT NULL")
        if f is not None:
            tighten.insert(0, f"{statement} SET NOT NULL")
    return relax, tighten


def _remedy(
    op: Any, relax: list[str], tighten: list[str], dropped: list[tuple[str, str | None]]
) -> Remedy:
    from django.db import migrations

    from schemaops.remedy.planner import MigrationSpec, Remedy, run_sql

    kept_state = list(getattr(op, "state_operations", None) or [])
    steps = []
    if relax:
        expand = run_sql(relax, tighten)
        expand.state_operations = kept_state
        steps.append(MigrationSpec("expand", [expand]))
    elif kept_state:
        steps.append(
            MigrationSpec(
                "expand", [migrations.SeparateDatabaseAndState(state_operations=kept_state)]
            )
        )
    contract = migrations.RunSQL(
        op.sql, reverse_sql=op.reverse_sql, hints=op.hints or None, elidable=op.elidable
    )
    steps.append(MigrationSpec("contract", [contract], post=True))
    what = ", ".join(
        f"{table}.{column}" if column else f"table {table}" for table, column in dropped
    )
    summary = f"drop {what} in a post-deploy migration, once no running code reads it" + (
        "; before the deploy, make the column nullable so the new code's INSERTs work"
        if relax
        else ""
    )
    return Remedy(DROP_AFTER_DEPLOY, summary, steps)
