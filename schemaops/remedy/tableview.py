"""``AlterModelTable``: rename the table, and leave a view under the old name until the deploy.

A ``RenameModel`` has a remedy that renames nothing (:mod:`schemaops.remedy.rename`
keeps ``db_table``); an ``AlterModelTable`` exists only for the new name, so
keeping the old one would undo it. The rename itself is instant (a brief
ACCESS EXCLUSIVE, no rewrite); what breaks is the old code, which still
names the old table until the deploy is done. So the remedy is the
expand/contract one rule SO104 describes:

- expand (before the deploy, one transaction): ``ALTER TABLE old RENAME TO
  new`` and ``CREATE VIEW old AS SELECT * FROM new``; a view over one table
  with every column is automatically updatable, so the old code's SELECT,
  INSERT ... RETURNING, UPDATE and DELETE go through it to the table (the
  table's defaults and sequences apply); the state gets the
  ``AlterModelTable``;
- contract (after the deploy): ``DROP VIEW old``.

Until the contract runs, the view depends on the table: a migration of the
same release that drops or retypes one of its columns fails (PostgreSQL
refuses), which the summary says. Not planned (the rule's advice stands): a
model with auto-created many-to-many join tables named after its table
(``AlterModelTable`` renames them too), and a table created earlier in the
same migration (no code uses it yet), nor one in a post-deploy migration (the
new code, live before it runs, needs the new name: the rename belongs before
the deploy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemaops.statements import ident

if TYPE_CHECKING:
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import Remedy

VIEW = "rename-with-view"


def plan_table_rename(
    op: Any,
    app_label: str,
    state: ProjectState,
    new_tables: set[str] | None = None,
    post_phase: bool = False,
) -> Remedy | None:
    """The rename-then-view remedy of ``AlterModelTable`` ``op`` on ``state`` (the state
    before it); None when the table keeps its name, is new, or has join tables to rename,
    and in a post-deploy migration (the new code, live by then, needs the new name first)."""
    from django.db import migrations

    from schemaops.plan import db_table_for
    from schemaops.remedy.planner import MigrationSpec, Remedy, run_sql

    model = state.models.get((app_label, op.name_lower))
    if model is None or post_phase:
        return None
    old = db_table_for(app_label, model.name, model.options)
    new = db_table_for(app_label, model.name, {"db_table": op.table})
    if old == new or old in (new_tables or set()) or _renamed_join_tables(model):
        return None
    view = f"CREATE VIEW {ident(old)} AS SELECT * FROM {ident(new)}"
    drop = f"DROP VIEW IF EXISTS {ident(old)}"
    rename = run_sql(
        [f"ALTER TABLE {ident(old)} RENAME TO {ident(new)}", view],
        [drop, f"ALTER TABLE {ident(new)} RENAME TO {ident(old)}"],
    )
    expand = migrations.SeparateDatabaseAndState(
        state_operations=[op], database_operations=[rename]
    )
    contract = run_sql([drop], [view])
    summary = (
        f"rename the table {old} to {new} and create the view {old} over it in the same "
        "migration (a view of one table is updatable: the old code keeps reading and writing "
        f"through it), then drop the view after the deploy; until then a column of {new} "
        "cannot be dropped or retyped (the view depends on it)"
    )
    steps = [MigrationSpec("expand", [expand]), MigrationSpec("contract", [contract], post=True)]
    return Remedy(VIEW, summary, steps)


def _renamed_join_tables(model: Any) -> bool:
    """Does the model have an auto-created join table named after its table?"""
    for field in model.fields.values():
        if not getattr(field, "many_to_many", False) or field.db_table:
            continue
        if not getattr(field.remote_field, "through", None):
            return True
    return False
