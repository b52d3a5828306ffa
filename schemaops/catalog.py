"""The migration state read as a catalog: the tables Django creates that are no model.

A ``ManyToManyField`` without a ``through`` model gets a join table of its
own (``<model table>_<field name>``) with two foreign key columns, each
indexed, and a unique constraint on the pair. Rules that ask "which indexes
exist on this table?" or "what does dropping this field drop?" need those
tables too; the state has them only implicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JoinTable:
    """The table Django creates for an auto-created many-to-many relation."""

    table: str
    owner: str  # the owning model's table
    field: str  # the ManyToManyField's name
    from_column: str  # points at the owner
    to_column: str  # points at the target

    @property
    def indexed_columns(self) -> set[str]:
        """Both foreign key columns lead an index (and the pair is unique)."""
        return {self.from_column, self.to_column}


def join_table(owner: Any, name: str, field: Any, target: Any | None) -> JoinTable | None:
    """The join table of ``owner.name`` (model states), None for a ``through`` model."""
    from django.db.backends.utils import truncate_name

    from schemaops.plan import db_table_for

    if not getattr(field, "many_to_many", False):
        return None
    remote = getattr(field, "remote_field", None)
    if remote is None or getattr(remote, "through", None):
        return None
    owner_table = db_table_for(owner.app_label, owner.name, owner.options)
    table = str(field.db_table or truncate_name(f"{owner_table}_{name}", 63))
    source = owner.name.lower()
    target_name = target.name.lower() if target is not None else _model_name(remote.model)
    if source == target_name:
        source, target_name = f"from_{source}", f"to_{target_name}"
    return JoinTable(table, owner_table, name, f"{source}_id", f"{target_name}_id")


def join_tables(state: Any) -> dict[str, JoinTable]:
    """Every auto-created join table of a ProjectState, by table name."""
    from django.db.migrations.utils import resolve_relation

    out = {}
    for model in state.models.values():
        for name, field in model.fields.items():
            if not getattr(field, "many_to_many", False):
                continue
            key = resolve_relation(field.remote_field.model, model.app_label, model.name_lower)
            found = join_table(model, name, field, state.models.get(key))
            if found is not None:
                out[found.table] = found
    return out


def _model_name(model: Any) -> str:
    if isinstance(model, str):
        return model.rsplit(".", 1)[-1].lower()
    return str(model._meta.model_name)
