"""Remedies for renames: keep the database name, rename in the project state only.

A rename is never one step (docs/expand-contract.md): whichever phase it runs
in, one release uses the old name while the other uses the new one. The safe
change keeps the name the database has, so nothing happens in PostgreSQL:

- ``RenameField`` that renames the column: the field gets
  ``db_column="<old column>"``; the state operations are the ones
  ``makemigrations`` writes for exactly that models.py (an ``AlterField``
  setting ``db_column`` on the old name, then the ``RenameField``);
- ``RenameField`` of a many-to-many field, which renames its auto-created join
  table (named after the field): the field gets ``db_table="<old join
  table>"`` the same way (its columns are named after the models, not the
  field, so nothing else changes);
- ``AlterField`` whose ``db_column`` (or a foreign key becoming a plain field,
  or back) renames the column: the field keeps ``db_column="<old column>"``;
  whatever else the ``AlterField`` changes is still done (and planned again:
  it may need its own remedy);
- ``RenameModel`` that renames the table: ``Meta.db_table = "<old table>"``
  (``RenameModel`` then ``AlterModelTable``, as ``makemigrations`` writes
  them). Foreign keys from other tables keep their columns and point at the
  same table; join tables of many-to-many fields of the model keep their name,
  as Django names them after ``db_table``; a renamed explicit ``through``
  model is a model like any other.

The project state then differs from the original's by that one ``db_column``
or ``db_table``, which models.py must say too: fix cannot edit models.py, so
the remedy states the line to add (:attr:`Remedy.instructions`), and the
migration file carries it as a comment. With it, ``makemigrations --check``
is clean.

A ``RenameModel`` whose auto-created many-to-many join tables would have
their ``<model>_id`` column renamed (no field option keeps that column) first
turns them into explicit ``through`` models of the same tables:
:mod:`schemaops.remedy.jointables`. ``AlterModelTable`` exists only for
the new name, so keeping the old one would undo it: it is renamed with a view
under the old name instead (:mod:`schemaops.remedy.tableview`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemaops.remedy.code import django_kind

if TYPE_CHECKING:
    from django.db.migrations.operations.base import Operation
    from django.db.migrations.state import ModelState, ProjectState

    from schemaops.remedy.planner import PlanContext, Remedy

KEEP_NAME = "keep-database-name"
RENAMES = ("RenameField", "RenameModel", "AlterField")

# The full expand/contract alternative, for when the database name itself must change.
_EXPAND_CONTRACT = (
    "if the {what} itself must be renamed: add the new {what}, keep both in step "
    "(a trigger, or the code writing both), fill it with `schemaops backfill`, switch "
    "the reads, and drop the old {what} in a post-deploy migration"
)


def plan_rename(
    op: Operation,
    app_label: str,
    state: ProjectState,
    context: PlanContext,
) -> Remedy | None:
    """The keep-the-name remedy of a rename ``op`` (None: not a rename of an existing name,
    or of a table created earlier in the same migration, which no running code uses yet)."""
    from schemaops.plan import db_table_for

    kind = django_kind(op)
    try:
        name = getattr(op, "old_name" if kind == "RenameModel" else "model_name", "")
        model = _model(state, app_label, name)
        if db_table_for(app_label, model.name, model.options) in context.new_tables:
            return None
        if kind == "RenameField":
            return _rename_field(op, app_label, state)
        if kind == "RenameModel":
            return _rename_model(op, app_label, state)
        if kind == "AlterField":
            return _alter_db_column(op, app_label, state, context)
    except (KeyError, LookupError, TypeError, ValueError):  # a state the rename cannot read
        return None
    return None


def with_db_column(field: Any, column: str) -> Any:
    """A copy of ``field`` with ``db_column=column`` (as the user writes it in models.py)."""
    _name, _path, args, kwargs = field.deconstruct()
    kwargs["db_column"] = column
    return type(field)(*args, **kwargs)


def _model(state: ProjectState, app_label: str, name: str) -> ModelState:
    return state.models[(app_label, name.lower())]


def _rename_field(op: Any, app_label: str, state: ProjectState) -> Remedy | None:
    from django.db import migrations

    from schemaops.plan import column_for, db_table_for

    model = _model(state, app_label, op.model_name)
    old = model.fields[op.old_name]
    if getattr(old, "many_to_many", False):
        return _rename_many_to_many(op, app_label, state, model, old)
    if getattr(old, "db_column", None):
        return None  # db_column keeps the column already
    old_column = column_for(op.old_name, old)
    if old_column == column_for(op.new_name, old):
        return None
    kept = with_db_column(old, old_column)
    state_ops = [
        migrations.AlterField(op.model_name, op.old_name, kept),
        migrations.RenameField(op.model_name, op.old_name, op.new_name),
    ]
    table = db_table_for(app_label, model.name, model.options)
    line = f'db_column="{old_column}"'
    instruction = (
        f"models.py: add {line} to {model.name}.{op.new_name} "
        f"(`{op.new_name} = models.{type(old).__name__}(..., {line})`), so the field "
        f"keeps the column {table}.{old_column}"
    )
    return _state_only(
        state_ops,
        f"rename {model.name}.{op.old_name} to {op.new_name} in the models only and keep "
        f"the column {old_column} ({line}): nothing changes in the database",
        instruction,
        "column",
    )


def _rename_many_to_many(
    op: Any, app_label: str, state: ProjectState, model: ModelState, old: Any
) -> Remedy | None:
    """``RenameField`` of a many-to-many field: keep its join table's name (``db_table``)."""
    from django.db import migrations
    from django.db.migrations.utils import resolve_relation

    from schemaops.catalog import join_table

    target = state.models.get(resolve_relation(old.remote_field.model, app_label, model.name_lower))
    join = join_table(model, op.old_name, old, target)
    if join is None or old.db_table:
        return None  # a through model's table, or db_table keeps the name already
    _name, _path, args, kwargs = old.deconstruct()
    kept = type(old)(*args, **{**kwargs, "db_table": join.table})
    line = f'db_table="{join.table}"'
    return _state_only(
        [
            migrations.AlterField(op.model_name, op.old_name, kept),
            migrations.RenameField(op.model_name, op.old_name, op.new_name),
        ],
        f"rename {model.name}.{op.old_name} to {op.new_name} in the models only and keep "
        f"its join table {join.table} ({line}): nothing changes in the database",
        f"models.py: add {line} to {model.name}.{op.new_name} "
        f"(`{op.new_name} = models.ManyToManyField(..., {line})`), so the field keeps "
        f"the join table {join.table}",
        "join table",
    )


def _rename_model(op: Any, app_label: str, state: ProjectState) -> Remedy | None:
    from django.db import migrations

    from schemaops.plan import db_table_for

    model = _model(state, app_label, op.old_name)
    if model.options.get("db_table"):
        return None  # the table keeps its name already
    table = db_table_for(app_label, model.name, model.options)
    if table == db_table_for(app_label, op.new_name, {}):
        return None
    if _auto_join_tables(state, app_label, model):  # their <model>_id columns would be renamed
        from schemaops.remedy.jointables import plan_join_tables

        return plan_join_tables(op, app_label, state, model, table)
    state_ops = [
        migrations.RenameModel(op.old_name, op.new_name),
        migrations.AlterModelTable(op.new_name, table),
    ]
    line = f'db_table = "{table}"'
    instruction = (
        f"models.py: add `{line}` to class {op.new_name}'s Meta "
        f"(`class Meta: {line}`), so the model keeps the table {table}"
    )
    return _state_only(
        state_ops,
        f"rename the model {model.name} to {op.new_name} in the models only and keep the "
        f"table {table} ({line}); foreign keys to it keep their columns: nothing changes "
        "in the database",
        instruction,
        "table",
    )


def _auto_join_tables(state: ProjectState, app_label: str, model: ModelState) -> list[str]:
    """``Model.field`` of the many-to-many fields with an auto-created join table that
    has a column named after ``model`` (its own fields, and fields pointing at it)."""
    names = {f"{app_label}.{model.name}".lower()}
    found = [
        f"{model.name}.{name}"
        for name, f in model.fields.items()
        if getattr(f, "many_to_many", False) and not getattr(f.remote_field, "through", None)
    ]
    for other in state.models.values():
        for name, f in other.fields.items():
            if not getattr(f, "many_to_many", False) or f.remote_field.through:
                continue
            target = str(f.remote_field.model).lower()
            if "." not in target:
                target = f"{other.app_label}.{target}"
            if target in names:
                found.append(f"{other.name}.{name}")
    return found


def _alter_db_column(
    op: Any, app_label: str, state: ProjectState, context: PlanContext
) -> Remedy | None:
    from django.db import migrations

    from schemaops.plan import column_for, db_table_for, operation_sql
    from schemaops.remedy.planner import plan_operation

    model = _model(state, app_label, op.model_name)
    old = model.fields.get(op.name)
    if old is None or getattr(old, "many_to_many", False):
        return None
    old_column, new_column = column_for(op.name, old), column_for(op.name, op.field)
    if old_column == new_column:
        return None
    kept_op = migrations.AlterField(op.model_name, op.name, with_db_column(op.field, old_column))
    line = f'db_column="{old_column}"'
    instruction = (
        f"models.py: give {model.name}.{op.name} {line}"
        + (f' instead of db_column="{op.field.db_column}"' if op.field.db_column else "")
        + f", so the field keeps the column {db_table_for(app_label, model.name, model.options)}"
        f".{old_column}"
    )
    summary = (
        f"keep the column {old_column} of {model.name}.{op.name} ({line}): "
        "the column is not renamed"
    )
    if operation_sql(kept_op, app_label, state, context.pg_version)[0]:
        # the AlterField changes more than the name: that part is still done, safely
        rest = plan_operation(
            kept_op, app_label, state, context.for_other_operation(post_phase=context.post_phase)
        )
        if rest is None:
            return _remedy([kept_op], summary, instruction, "column", KEEP_NAME)
        rest.kind = f"{KEEP_NAME}+{rest.kind}"
        rest.summary = f"{summary}; {rest.summary}"
        rest.instructions = [instruction, *rest.instructions]
        return rest
    return _state_only([kept_op], summary, instruction, "column")


def _state_only(state_ops: list[Any], summary: str, instruction: str, what: str) -> Remedy:
    from django.db import migrations

    rename = migrations.SeparateDatabaseAndState(state_operations=state_ops, database_operations=[])
    return _remedy([rename], summary, instruction, what, KEEP_NAME)


def _remedy(ops: list[Any], summary: str, instruction: str, what: str, kind: str) -> Remedy:
    from schemaops.remedy.planner import MigrationSpec, Remedy

    return Remedy(
        kind,
        summary,
        # post=False: the file takes the original migration's place, in its phase
        [MigrationSpec("rename", ops)],
        instructions=[instruction, _EXPAND_CONTRACT.format(what=what)],
    )
