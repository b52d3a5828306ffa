"""Lock map, Django side: the statements each built-in operation runs on PostgreSQL.

Each handler mirrors what Django 5.2's PostgreSQL schema editor executes for
the operation (``BaseDatabaseSchemaEditor._alter_field`` and friends) and
returns :class:`LockStep` objects in execution order, one statement index
per SQL statement. See :mod:`schemaops.checks._lockmap` for the contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemaops.checks._lockmap_sql import LockStep, builtin_check, field_checks
from schemaops.columns import (
    binary_coercible,
    db_default,
    default_volatility,
    field_db_type,
    is_auto_field,
    is_stored_generated,
    timezone_flip,
    utc_session,
)
from schemaops.locks import Lock

AE, SRE, SHARE = Lock.ACCESS_EXCLUSIVE, Lock.SHARE_ROW_EXCLUSIVE, Lock.SHARE
SUE, RX = Lock.SHARE_UPDATE_EXCLUSIVE, Lock.ROW_EXCLUSIVE


class _Steps(list[LockStep]):
    """Collects steps; ``stmt`` starts a new statement, ``also`` adds to the current one."""

    def stmt(self, table: str, lock: Lock, slow: bool, action: str) -> _Steps:
        index = self[-1].statement + 1 if self else 0
        self.append(LockStep(table, lock, slow, action, index))
        return self

    def also(self, table: str | None, lock: Lock, slow: bool, action: str) -> _Steps:
        if table:
            self.append(LockStep(table, lock, slow, action, self[-1].statement if self else 0))
        return self


# -- field facts --------------------------------------------------------------------


def fk_constraint(field: Any) -> bool:
    """Does this field create a FOREIGN KEY constraint of its own?"""
    return (
        field is not None
        and getattr(field, "remote_field", None) is not None
        and not field.many_to_many
        and bool(getattr(field, "db_constraint", False))
    )


def auto_through(field: Any) -> bool:
    return bool(getattr(field, "many_to_many", False)) and not field.remote_field.through


def m2m_table(table: str, name: str, field: Any) -> str:
    from django.db.backends.utils import truncate_name

    return str(field.db_table or truncate_name(f"{table}_{name}", 63))


def plain_index(field: Any) -> bool:
    return bool(field.db_index) and not field.unique


def like_index(ctx: Any, field: Any) -> bool:
    """PostgreSQL's second ``_like`` index (varchar/text_pattern_ops) for indexed text."""
    if not (field.db_index or field.unique) or getattr(field, "primary_key", False):
        return False
    col = column_type(ctx, field)
    return col is not None and col.name in ("varchar", "text") and not col.array


def column_type(ctx: Any, field: Any) -> Any:
    related = None
    if getattr(field, "remote_field", None) is not None and not field.many_to_many:
        related = target_pk(ctx, field)
    return field_db_type(field, related, ctx.migration.target.pg_version)


def target_pk(ctx: Any, field: Any) -> Any:
    from django.db.migrations.utils import resolve_relation

    key = resolve_relation(field.remote_field.model, ctx.app_label, ctx.model_name.lower())
    model = ctx.migration.state.models.get(key)
    if model is None:
        return None
    to_field = getattr(field, "to_fields", [None])[0] if getattr(field, "to_fields", None) else None
    for name, f in model.fields.items():
        if (to_field and name == to_field) or (not to_field and getattr(f, "primary_key", False)):
            return f
    return None


def effective_default(field: Any) -> bool:
    """Does Django write a DEFAULT into ADD COLUMN (it drops it right after)?

    Django's ``_effective_default``: the field's default, ``''`` for a blank
    NOT NULL text field, the current time for ``auto_now``/``auto_now_add``.
    """
    if field.has_default():
        return field.default is not None
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return True
    return not field.null and field.blank and field.empty_strings_allowed


def add_column_rewrites(field: Any, pg_version: int) -> bool:
    """Does ``ADD COLUMN`` for this field rewrite the table?"""
    if is_auto_field(field) or is_stored_generated(field):
        return True
    default = db_default(field)
    if default is not None:
        # a default not known to be stable is taken as volatile: one value per row
        return pg_version < 11 or default_volatility(default) != "stable"
    return pg_version < 11 and effective_default(field)


def has_check(field: Any) -> bool:
    return builtin_check(field)


def type_change_checks(ctx: Any, old: Any, new: Any) -> list[str]:
    """CHECK constraints PostgreSQL re-verifies (a full scan) when AlterField changes the type.

    ``Meta.constraints`` checks on the field, and its built-in check when the
    new field keeps it (Django drops a check the new field no longer has first).
    """
    if ctx.before is None:
        return []
    column = ctx.column(ctx.operation.name, old)
    names = field_checks(ctx.table, column, ctx.before, old)
    if has_check(old) and not has_check(new):
        names = names[:-1]
    return names


# -- model operations -------------------------------------------------------------


def create_model(ctx: Any) -> list[LockStep]:
    steps, table = _Steps(), ctx.after.db_table if ctx.after else ctx.table
    for name, field in ctx.after.fields.items() if ctx.after else ():
        if fk_constraint(field):
            target = ctx.related_table(field)
            if target != table:
                steps.stmt(target, SRE, False, f"CREATE TABLE {table} (FOREIGN KEY {name})")
        elif auto_through(field):
            steps.stmt(ctx.related_table(field), SRE, False, f"CREATE TABLE for {name}")
    return steps


def delete_model(ctx: Any) -> list[LockStep]:
    steps, table = _Steps(), ctx.table
    steps.stmt(table, AE, False, "DROP TABLE")
    for name, field in ctx.before.fields.items() if ctx.before else ():
        if fk_constraint(field):
            steps.also(ctx.related_table(field), AE, False, "DROP TABLE (its foreign key)")
        elif auto_through(field):
            steps.stmt(m2m_table(table, name, field), AE, False, "DROP TABLE (m2m)")
            steps.also(table, AE, False, "DROP TABLE (m2m)")
            steps.also(ctx.related_table(field), AE, False, "DROP TABLE (m2m)")
    return steps


def rename_table(ctx: Any, old: str, new: str) -> _Steps:
    steps = _Steps()
    if old == new:
        return steps
    steps.stmt(old, AE, False, "ALTER TABLE RENAME")
    for name, field in ctx.before.fields.items() if ctx.before else ():
        if auto_through(field) and not field.db_table:
            steps.stmt(m2m_table(old, name, field), AE, False, "ALTER TABLE RENAME (m2m)")
    return steps


def rename_model(ctx: Any) -> list[LockStep]:
    old, new = ctx.before, ctx.after
    if old is None or new is None:
        return []
    steps = rename_table(ctx, old.db_table, new.db_table)
    if old.db_table != new.db_table:
        for ref_table, _name in referencing(ctx, new):
            # Django drops and re-adds (validates) every foreign key pointing here.
            steps.stmt(ref_table, AE, False, "DROP FOREIGN KEY")
            steps.also(old.db_table, AE, False, "DROP FOREIGN KEY")
            steps.stmt(ref_table, SRE, True, "ADD FOREIGN KEY")
            steps.also(old.db_table, SRE, False, "ADD FOREIGN KEY")
        for join in _join_tables_to(ctx, new):
            # Django renames the join table's column after the model, and re-adds its FK
            steps.stmt(join.table, AE, False, "RENAME COLUMN (m2m)")
            steps.stmt(join.table, AE, False, "DROP FOREIGN KEY (m2m)")
            steps.stmt(join.table, SRE, True, "ADD FOREIGN KEY (m2m)")
            steps.also(old.db_table, SRE, False, "ADD FOREIGN KEY (m2m)")
    return steps


def _join_tables_to(ctx: Any, model: Any) -> list[Any]:
    """Join tables of other models' many-to-many fields that point at ``model``."""
    from schemaops.catalog import join_tables

    column = f"{model.name.lower()}_id"
    return [
        join
        for join in join_tables(ctx.migration.state).values()
        if join.to_column == column and join.owner != model.db_table
    ]


def alter_model_table(ctx: Any) -> list[LockStep]:
    if ctx.before is None or ctx.after is None:
        return []
    return rename_table(ctx, ctx.before.db_table, ctx.after.db_table)


def referencing(ctx: Any, model: Any, to_field: str | None = None) -> list[tuple[str, str]]:
    """(table, field name) of every foreign key constraint that points at ``model``
    (``to_field``: only those that point at that field of it)."""
    from schemaops.plan import db_table_for

    state = ctx.migration.state
    key = (model.app_label, model.name.lower())
    pk = next((n for n, f in model.fields.items() if getattr(f, "primary_key", False)), "id")
    out = []
    for ref_key, fields in state.relations.get(key, {}).items():
        ref = state.models.get(ref_key)
        for name, field in fields.items():
            if ref is None or not fk_constraint(field) or ref_key == key:
                continue
            if to_field is not None and (field.remote_field.field_name or pk) != to_field:
                continue
            out.append((db_table_for(ref.app_label, ref.name, ref.options), name))
    return out


def incoming_keys(ctx: Any, old: Any, new: Any) -> list[str]:
    """Tables whose foreign keys Django drops before an AlterField and adds back, validated,
    after it: those pointing at a primary or unique key whose type or collation changes
    (``drop_foreign_keys`` in ``BaseDatabaseSchemaEditor._alter_field``), even when the
    change itself is free (``varchar(10)`` to ``varchar(20)``)."""
    keyed = (old.primary_key and new.primary_key) or (old.unique and new.unique)
    collation = getattr(old, "db_collation", None) != getattr(new, "db_collation", None)
    if not keyed or ctx.before is None:
        return []
    if column_type(ctx, old) == column_type(ctx, new) and not collation:
        return []
    refs = referencing(ctx, ctx.before, to_field=ctx.operation.name)
    return list(dict.fromkeys(table for table, _name in refs))


def table_comment(ctx: Any) -> list[LockStep]:
    return _Steps().stmt(ctx.table, SUE, False, "COMMENT ON TABLE")


def order_with_respect_to(ctx: Any) -> list[LockStep]:
    before = (ctx.before.options.get("order_with_respect_to") if ctx.before else None) or None
    after = (ctx.after.options.get("order_with_respect_to") if ctx.after else None) or None
    if bool(before) == bool(after):
        return []
    return _Steps().stmt(ctx.table, AE, False, "ADD COLUMN _order" if after else "DROP COLUMN")


# -- together options -------------------------------------------------------------


def _together(ctx: Any, option: str) -> tuple[set[Any], set[Any]]:
    def norm(value: Any) -> set[tuple[str, ...]]:
        return {tuple(v) for v in (value or ())}

    old = norm(ctx.before.options.get(option) if ctx.before else None)
    new = norm(ctx.after.options.get(option) if ctx.after else None)
    return new - old, old - new


def unique_together(ctx: Any) -> list[LockStep]:
    added, removed = _together(ctx, "unique_together")
    steps = _Steps()
    for _ in removed:
        steps.stmt(ctx.table, AE, False, "DROP CONSTRAINT (unique)")
    for _ in added:
        steps.stmt(ctx.table, AE, True, "ADD CONSTRAINT UNIQUE")
    return steps


def index_together(ctx: Any) -> list[LockStep]:
    added, removed = _together(ctx, "index_together")
    steps = _Steps()
    for _ in removed:
        steps.stmt(ctx.table, AE, False, "DROP INDEX")
    for _ in added:
        steps.stmt(ctx.table, SHARE, True, "CREATE INDEX")
    return steps


# -- indexes and constraints ------------------------------------------------------


def add_index(ctx: Any) -> list[LockStep]:
    return _Steps().stmt(ctx.table, SHARE, True, "CREATE INDEX")


def add_index_concurrently(ctx: Any) -> list[LockStep]:
    return _Steps().stmt(ctx.table, SUE, True, "CREATE INDEX CONCURRENTLY")


def remove_index(ctx: Any) -> list[LockStep]:
    return _Steps().stmt(ctx.table, AE, False, "DROP INDEX")


def remove_index_concurrently(ctx: Any) -> list[LockStep]:
    return _Steps().stmt(ctx.table, SUE, False, "DROP INDEX CONCURRENTLY")


def rename_index(ctx: Any) -> list[LockStep]:
    op = ctx.operation
    if op.old_name:
        return _Steps().stmt(op.old_name, SUE, False, "ALTER INDEX RENAME")
    return _Steps().stmt(ctx.table, SUE, False, "ALTER INDEX RENAME")


def index_style_unique(constraint: Any) -> bool:
    """A UniqueConstraint Django creates with CREATE UNIQUE INDEX, not ADD CONSTRAINT."""
    return bool(
        getattr(constraint, "condition", None)
        or getattr(constraint, "expressions", None)
        or getattr(constraint, "include", None)
        or getattr(constraint, "opclasses", None)
    )


def constraint_kind(constraint: Any) -> str:
    """'unique', 'unique-index', 'check', 'exclusion' or 'other'."""
    name = type(constraint).__name__
    if name == "UniqueConstraint":
        return "unique-index" if index_style_unique(constraint) else "unique"
    return {"CheckConstraint": "check", "ExclusionConstraint": "exclusion"}.get(name, "other")


def add_constraint(ctx: Any) -> list[LockStep]:
    kind = constraint_kind(ctx.operation.constraint)
    if kind == "unique-index":
        return _Steps().stmt(ctx.table, SHARE, True, "CREATE UNIQUE INDEX")
    return _Steps().stmt(ctx.table, AE, True, f"ADD CONSTRAINT {kind.upper()}")


def add_constraint_not_valid(ctx: Any) -> list[LockStep]:
    return _Steps().stmt(ctx.table, AE, False, "ADD CONSTRAINT ... NOT VALID")


def table_of(ctx: Any) -> str:
    """The table of an operation the walk has no model snapshot for (ValidateConstraint)."""
    from schemaops.plan import db_table_for

    if ctx.table != "?":
        return str(ctx.table)
    key = (ctx.app_label, str(getattr(ctx.operation, "model_name", "")).lower())
    model = ctx.migration.state.models.get(key)
    return db_table_for(model.app_label, model.name, model.options) if model else "?"


def validate_constraint(ctx: Any) -> list[LockStep]:
    return _Steps().stmt(table_of(ctx), SUE, True, "VALIDATE CONSTRAINT")


def remove_constraint(ctx: Any) -> list[LockStep]:
    before = ctx.before.constraints if ctx.before else []
    found = [c for c in before if c.name == ctx.operation.name]
    if found and constraint_kind(found[0]) == "unique-index":
        return _Steps().stmt(ctx.table, AE, False, "DROP INDEX")
    return _Steps().stmt(ctx.table, AE, False, "DROP CONSTRAINT")


# -- fields -----------------------------------------------------------------------


def add_field(ctx: Any) -> list[LockStep]:
    field, table, steps = ctx.operation.field, ctx.table, _Steps()
    if field.many_to_many:
        if auto_through(field):
            steps.stmt(table, SRE, False, "CREATE TABLE (m2m)")
            steps.also(ctx.related_table(field), SRE, False, "CREATE TABLE (m2m)")
        return steps
    rewrite = add_column_rewrites(field, ctx.migration.target.pg_version)
    slow = rewrite or field.unique or has_check(field)
    steps.stmt(table, AE, slow, "ADD COLUMN" + (" (rewrites the table)" if rewrite else ""))
    return _field_extras(ctx, None, field, steps)


def _field_extras(ctx: Any, old: Any, new: Any, steps: _Steps) -> _Steps:
    """Indexes and foreign keys Django adds after the column exists."""
    table = ctx.table
    if plain_index(new) and not (old is not None and plain_index(old)):
        steps.stmt(table, SHARE, True, "CREATE INDEX")
    if like_index(ctx, new) and _like_added(ctx, old, new):
        steps.stmt(table, SHARE, True, "CREATE INDEX (_like)")
    if fk_constraint(new) and (old is None or not fk_constraint(old) or _fk_dropped(old, new)):
        # a new column without a DEFAULT is all NULL: PostgreSQL skips the validation
        validated = old is not None or effective_default(new) or db_default(new) is not None
        steps.stmt(table, SRE, validated, "ADD FOREIGN KEY")
        steps.also(ctx.related_table(new), SRE, False, "ADD FOREIGN KEY")
    return steps


def _like_added(ctx: Any, old: Any, new: Any) -> bool:
    """Django's PostgreSQL ``_alter_field``: the ``_like`` index is (re)built only when an
    index appears, or when an indexed text column leaves its type family (varchar(20) ->
    varchar(50) keeps the index: only ALTER COLUMN TYPE runs)."""
    if old is None:
        return True
    return (
        (not (old.db_index or old.unique) and new.db_index)
        or (not old.unique and new.unique)
        or leaves_text_family(ctx, old, new)
    )


def leaves_text_family(ctx: Any, old: Any, new: Any) -> bool:
    """Django's ``_is_changing_type_of_indexed_text_column``."""
    if not (old.db_index or old.unique):
        return False
    old_type, new_type = column_type(ctx, old), column_type(ctx, new)
    if old_type is None or new_type is None:
        return False
    return old_type.name in ("varchar", "text", "citext") and old_type.name != new_type.name


def remove_field(ctx: Any) -> list[LockStep]:
    field, table, steps = ctx.field_before(ctx.operation.name), ctx.table, _Steps()
    if field is None:
        return steps
    if field.many_to_many:
        if auto_through(field):
            steps.stmt(m2m_table(table, ctx.operation.name, field), AE, False, "DROP TABLE (m2m)")
            steps.also(table, AE, False, "DROP TABLE (m2m)")
            steps.also(ctx.related_table(field), AE, False, "DROP TABLE (m2m)")
        return steps
    steps.stmt(table, AE, False, "DROP COLUMN")
    if fk_constraint(field):
        steps.also(ctx.related_table(field), AE, False, "DROP COLUMN (its foreign key)")
    return steps


def rename_field(ctx: Any) -> list[LockStep]:
    op, steps = ctx.operation, _Steps()
    old = ctx.field_before(op.old_name)
    if old is None:
        return steps
    if old.many_to_many:
        return steps
    if ctx.column(op.old_name, old) != ctx.column(op.new_name, old):
        steps.stmt(ctx.table, AE, False, "RENAME COLUMN")
    return steps


def _fk_dropped(old: Any, new: Any) -> bool:
    """Django drops an old FOREIGN KEY whenever the field changes in the database."""
    return fk_constraint(old) and db_changes(old, new)


def db_changes(old: Any, new: Any) -> bool:
    """Django's ``_field_should_be_altered``: does the change reach the database?"""
    _, old_path, old_args, old_kwargs = old.deconstruct()
    _, new_path, new_args, new_kwargs = new.deconstruct()
    for attr in (*old.non_db_attrs, "db_comment"):
        old_kwargs.pop(attr, None)
    for attr in (*new.non_db_attrs, "db_comment"):
        new_kwargs.pop(attr, None)
    same_target = str(old_kwargs.get("to", "")).lower() == str(new_kwargs.get("to", "")).lower()
    if old.remote_field and new.remote_field and not new.many_to_many and same_target:
        old_kwargs.pop("to", None)
        new_kwargs.pop("to", None)
    return (old_path, old_args, old_kwargs) != (new_path, new_args, new_kwargs)


def alter_field(ctx: Any) -> list[LockStep]:
    op, table, steps = ctx.operation, ctx.table, _Steps()
    old, new = ctx.field_before(op.name), op.field
    if old is not None and old.many_to_many and new.many_to_many and ctx.step.sql:
        from schemaops.checks._lockmap import _sql_steps

        return _sql_steps(ctx, ctx.step.sql)  # the join table's statements, as generated
    if old is None or old.many_to_many or new.many_to_many:
        return steps
    comment_change = getattr(old, "db_comment", None) != getattr(new, "db_comment", None)
    if not (comment_change or db_changes(old, new)):
        return steps
    incoming = incoming_keys(ctx, old, new)
    for ref_table in incoming:
        steps.stmt(ref_table, AE, False, "DROP FOREIGN KEY (referencing)")
        steps.also(table, AE, False, "DROP FOREIGN KEY (referencing)")
    _drop_old(ctx, old, new, steps)
    _alter_column(ctx, old, new, steps, comment_change)
    if new.unique and not old.unique:
        steps.stmt(table, AE, True, "ADD CONSTRAINT UNIQUE")
    if has_check(new) and not has_check(old):
        steps.stmt(table, AE, True, "ADD CONSTRAINT CHECK")
    _field_extras(ctx, old, new, steps)
    for ref_table in incoming:  # every row of the referencing table is checked again
        steps.stmt(ref_table, SRE, True, "ADD FOREIGN KEY (referencing)")
        steps.also(table, SRE, False, "ADD FOREIGN KEY (referencing)")
    return steps


def _drop_old(ctx: Any, old: Any, new: Any, steps: _Steps) -> None:
    table = ctx.table
    if fk_constraint(old):
        steps.stmt(table, AE, False, "DROP FOREIGN KEY")
        steps.also(ctx.related_table(old), AE, False, "DROP FOREIGN KEY")
    if old.unique and not new.unique and not old.primary_key:
        steps.stmt(table, AE, False, "DROP CONSTRAINT (unique)")
    if plain_index(old) and not plain_index(new):
        steps.stmt(table, AE, False, "DROP INDEX")
    if like_index(ctx, old) and (
        not (new.db_index or new.unique) or leaves_text_family(ctx, old, new)
    ):
        steps.stmt(table, AE, False, "DROP INDEX (_like)")


def _alter_column(ctx: Any, old: Any, new: Any, steps: _Steps, comment_change: bool) -> None:
    """Django's combined ALTER TABLE (type, default, null), or its four-way NOT NULL fill."""
    table = ctx.table
    if ctx.column(ctx.operation.name, old) != ctx.column(ctx.operation.name, new):
        steps.stmt(table, AE, False, "RENAME COLUMN")
    old_type, new_type = column_type(ctx, old), column_type(ctx, new)
    type_change = old_type != new_type
    utc = utc_session(ctx.migration.target.session)
    rewrite = type_change and (
        old_type is None
        or new_type is None
        or not binary_coercible(old_type, new_type, utc_session=utc)
    )
    # no rewrite, but a new operator class: the column's indexes are rebuilt
    flip = not rewrite and old_type and new_type and timezone_flip(old_type, new_type)
    collation_change = getattr(old, "db_collation", None) != getattr(new, "db_collation", None)
    set_not_null = old.null and not new.null
    four_way = set_not_null and db_default(new) is None and effective_default(new)
    default_change = db_default(old) != db_default(new)
    alter_type = type_change or collation_change or comment_change
    if alter_type or default_change or four_way or old.null != new.null:
        action = "ALTER COLUMN TYPE" if alter_type else "ALTER COLUMN"
        # any ALTER COLUMN TYPE, the same type included, validates the column's checks again
        scan = alter_type and bool(type_change_checks(ctx, old, new))
        if collation_change and not rewrite and column_indexes(ctx.before, ctx.operation.name):
            action, scan = "ALTER COLUMN TYPE (COLLATE: indexes rebuilt)", True
        if flip and column_indexes(ctx.before, ctx.operation.name):
            action, scan = "ALTER COLUMN TYPE (timestamptz: indexes rebuilt)", True
        steps.stmt(table, AE, rewrite or scan or (set_not_null and not four_way), action)
        if type_change and old.primary_key:
            for ref_table, _name in referencing(ctx, ctx.before):
                steps.stmt(ref_table, AE, rewrite, "ALTER COLUMN TYPE (referencing column)")
    if four_way:
        steps.stmt(table, RX, True, "UPDATE (fill NULLs with the default)")
        steps.stmt(table, AE, True, "ALTER COLUMN SET NOT NULL")
        steps.stmt(table, AE, False, "ALTER COLUMN DROP DEFAULT")
    if comment_change:
        steps.stmt(table, SUE, False, "COMMENT ON COLUMN")


def column_indexes(model: Any, name: str) -> list[str]:
    """What indexes the field's column (by field name): its own, Meta's, together options.

    Described, not named exactly: ``"db_index"``, ``"unique"``, ``"primary key"``,
    or the index / constraint name.
    """
    if model is None or name not in model.fields:
        return []
    field, out = model.fields[name], []
    if getattr(field, "primary_key", False):
        out.append("primary key")
    elif getattr(field, "unique", False):
        out.append("unique")
    elif getattr(field, "db_index", False):
        out.append("db_index")
    for item in (*model.options.get("indexes", ()), *model.options.get("constraints", ())):
        fields = [str(f).lstrip("-") for f in getattr(item, "fields", ()) or ()]
        if name in fields:
            out.append(str(item.name))
    for option in ("unique_together", "index_together"):
        for group in model.options.get(option) or ():
            if name in group:
                out.append(f"{option} {tuple(group)}")
    return out


def run_sql(ctx: Any) -> list[LockStep]:
    from schemaops.checks._lockmap import _sql_steps
    from schemaops.statements import runsql_texts

    return _sql_steps(ctx, runsql_texts(ctx.operation.sql))


def nothing(ctx: Any) -> list[LockStep]:
    return []


HANDLERS: dict[str, Callable[[Any], list[LockStep]]] = {
    "CreateModel": create_model,
    "DeleteModel": delete_model,
    "RenameModel": rename_model,
    "AlterModelTable": alter_model_table,
    "AlterModelTableComment": table_comment,
    "AlterOrderWithRespectTo": order_with_respect_to,
    "AlterUniqueTogether": unique_together,
    "AlterIndexTogether": index_together,
    "AddIndex": add_index,
    "AddIndexConcurrently": add_index_concurrently,
    "RemoveIndex": remove_index,
    "RemoveIndexConcurrently": remove_index_concurrently,
    "RenameIndex": rename_index,
    "AddConstraint": add_constraint,
    "AddConstraintNotValid": add_constraint_not_valid,
    "ValidateConstraint": validate_constraint,
    "RemoveConstraint": remove_constraint,
    "AddField": add_field,
    "RemoveField": remove_field,
    "AlterField": alter_field,
    "RenameField": rename_field,
    "RunSQL": run_sql,
    "RunPython": nothing,
    "SeparateDatabaseAndState": nothing,
    "AlterModelOptions": nothing,
    "AlterModelManagers": nothing,
    "CreateExtension": nothing,
    "CreateCollation": nothing,
    "RemoveCollation": nothing,
}
