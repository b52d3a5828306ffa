"""``RenameModel`` of a model with auto-created many-to-many join tables: rename nothing.

Django names an auto-created join table's column after the model
(``<model>_id``), so ``RenameModel`` renames it, on the model's own join
tables and on those of fields pointing at it; no field option keeps that
name. An explicit ``through`` model does: its foreign keys are named by the
project, not by the model, and ``RenameModel`` leaves such a table alone.

So the remedy (state operations only, like :mod:`schemaops.remedy.rename`'s
``db_table``) first turns each such join table into a ``through`` model that
describes it exactly (the same table, columns, primary key and
``unique_together``: ``CreateModel``, then ``AlterField`` of the
many-to-many field with ``through=``), then renames the model and keeps its
table. Nothing happens in PostgreSQL; models.py must declare those models,
which the instructions write out.

Not planned (the rule's advice stands): a self-referential many-to-many field
(its two columns need ``through_fields``), a join table of a field in another
app (its model belongs to that app's migrations), and a ``through`` model name
already taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.migrations.state import ModelState, ProjectState

    from schemaops.remedy.planner import Remedy


@dataclass(frozen=True)
class JoinTable:
    """One auto-created join table: ``owner.field`` and the model describing its table."""

    owner: str  # the model whose many-to-many field it is (as the state names it)
    field: str
    through: str  # the name of the explicit through model that replaces it
    table: str
    fields: tuple[tuple[str, Any], ...]  # (name, field) of the through model: pk, source, target


def plan_join_tables(
    op: Any, app_label: str, state: ProjectState, model: ModelState, table: str
) -> Remedy | None:
    """The keep-every-name remedy of ``op`` (``RenameModel`` of ``model``, whose table
    ``table`` is kept), given join tables named after it; None: a shape not planned."""
    from django.db import migrations

    from schemaops.remedy.rename import KEEP_NAME, _remedy

    joins = _join_tables(op, app_label, state, model)
    if not joins:
        return None
    ops: list[Any] = []
    for join in joins:
        ops.append(
            migrations.CreateModel(
                join.through,
                list(join.fields),
                options={"db_table": join.table, "unique_together": {_fk_names(join)}},
            )
        )
        ops.append(_with_through(state, app_label, join))
    ops += [
        migrations.RenameModel(op.old_name, op.new_name),
        migrations.AlterModelTable(op.new_name, table),
    ]
    split = migrations.SeparateDatabaseAndState(state_operations=ops, database_operations=[])
    names = ", ".join(join.table for join in joins)
    summary = (
        f"rename the model {model.name} to {op.new_name} in the models only and keep the table "
        f'{table} (db_table = "{table}"); its many-to-many join tables ({names}) become '
        "explicit through models of the same tables and columns: nothing changes in the database"
    )
    remedy = _remedy([split], summary, "", "table", KEEP_NAME)
    remedy.instructions[0] = (
        f'models.py: add `db_table = "{table}"` to class {op.new_name}\'s Meta and declare '
        f"the join tables {names} as the through models below, so no table or column is renamed"
    )
    for join in reversed(joins):
        remedy.instructions[1:1] = _model_lines(join, app_label, op, state)
    return remedy


def _join_tables(op: Any, app_label: str, state: ProjectState, model: ModelState) -> list[Any]:
    """The auto-created join tables with a column named after ``model``; [] when one of
    them is of a shape not planned."""
    label = f"{app_label}.{model.name}".lower()
    found = []
    for other in state.models.values():
        for name, f in other.fields.items():
            if not getattr(f, "many_to_many", False) or f.remote_field.through:
                continue
            target = _label(str(f.remote_field.model), other.app_label)
            mine = (other.app_label, other.name_lower) == (app_label, model.name_lower)
            if target != label and not mine:
                continue
            if other.app_label != app_label or (mine and target == label):
                return []  # another app's join table, or a self-referential one
            found.append((other, name))
    if not found:
        return []
    rendered = state.clone().apps  # a clone: the caller's state stays unrendered
    taken = {m.name_lower for m in state.models.values()} | {op.new_name.lower()}
    joins = []
    for other, name in found:
        owner = op.new_name if other.name_lower == model.name_lower else other.name
        through = f"{owner}{name.title().replace('_', '')}"
        if through.lower() in taken:
            return []
        taken.add(through.lower())
        auto = rendered.get_model(app_label, other.name)._meta.get_field(name).remote_field.through
        fields = tuple((f.name, _unbound(f)) for f in auto._meta.local_fields)
        joins.append(JoinTable(other.name, name, through, auto._meta.db_table, fields))
    return joins


def _label(target: str, app_label: str) -> str:
    target = target.lower()
    return target if "." in target else f"{app_label}.{target}"


def _unbound(field: Any) -> Any:
    """A copy of a rendered field as models.py declares it (no auto-created related_name)."""
    _name, _path, args, kwargs = field.deconstruct()
    kwargs.pop("related_name", None)
    if not kwargs.get("db_tablespace"):
        kwargs.pop("db_tablespace", None)  # the join table's '' default: none of its own
    return type(field)(*args, **kwargs)


def _fk_names(join: JoinTable) -> tuple[str, str]:
    source, target = (name for name, f in join.fields if f.is_relation)
    return source, target


def _with_through(state: ProjectState, app_label: str, join: JoinTable) -> Any:
    from django.db import migrations

    field = state.models[(app_label, join.owner.lower())].fields[join.field]
    _name, _path, args, kwargs = field.deconstruct()
    kwargs["through"] = f"{app_label}.{join.through}"
    kwargs.pop("db_table", None)  # the through model's Meta names the table now
    return migrations.AlterField(join.owner.lower(), join.field, type(field)(*args, **kwargs))


def _model_lines(join: JoinTable, app_label: str, op: Any, state: ProjectState) -> list[str]:
    """The through model as models.py declares it, one line per instruction."""
    owner = op.new_name if join.owner.lower() == op.old_name.lower() else join.owner
    lines = [
        f'models.py: {owner}.{join.field} = models.ManyToManyField(..., through="{join.through}")'
        f", and:",
        f"    class {join.through}(models.Model):",
    ]
    for name, f in join.fields:
        if not f.is_relation:
            continue
        app, model = _label(str(f.remote_field.model), app_label).split(".")
        shown = _model_name(op, app_label, state, app, model)
        lines.append(f'        {name} = models.ForeignKey("{shown}", on_delete=models.CASCADE)')
    source, target = _fk_names(join)
    lines += [
        "",
        "        class Meta:",
        f'            db_table = "{join.table}"',
        f'            unique_together = [("{source}", "{target}")]',
    ]
    return lines


def _model_name(op: Any, app_label: str, state: ProjectState, app: str, model: str) -> str:
    """The class name models.py refers to, after the rename (``app.Model`` for another app's)."""
    if app == app_label and model == op.old_name.lower():
        return str(op.new_name)
    name = state.models[(app, model)].name if (app, model) in state.models else model
    return name if app == app_label else f"{app}.{name}"
