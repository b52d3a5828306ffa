"""Remedies for column type changes that rewrite the table: the online type change.

``ALTER COLUMN ... TYPE`` to a type that is not binary-coercible (int to
bigint, varchar to integer, an array's element type), or a collation change
on an indexed column, holds ACCESS EXCLUSIVE while PostgreSQL rewrites every
row or rebuilds every index. The remedy never runs that statement:

- **before the deploy** (only adds, never blocks): a nullable shadow column of
  the new type and a trigger that keeps it equal to the old column on every
  INSERT and UPDATE (old code and new code alike); then, in an ``atomic =
  False`` migration, every index and unique constraint of the final model
  that covers the column built ``CONCURRENTLY`` on the shadow column;
- **backfill**: ``schemaops backfill start`` copies the old rows in batches,
  self-limiting (``--where "<shadow> IS NULL AND <column> IS NOT NULL"``);
- **after the deploy**, statement by statement (``atomic = False``): a
  catch-up UPDATE (no rows once the backfill ran), and for a NOT NULL column
  ``CHECK (shadow IS NOT NULL) NOT VALID``, ``VALIDATE``, ``SET NOT NULL``
  (no scan), the check dropped; then one short transaction that drops the
  trigger and the old column (its indexes and constraints with it, which
  frees their names without reading the catalog), renames the shadow column,
  attaches the indexes and constraints under the names Django gives them, and
  for an auto-incrementing primary key moves the sequence (serial:
  re-owned, widened, the default moved; identity: a new identity continuing
  at the old value) and attaches ``PRIMARY KEY USING INDEX``; CHECK
  constraints on the column come back ``NOT VALID`` and are validated in the
  next migration.

A foreign key re-pointed to a model whose key has another type (``bigint`` to
the swappable user model's ``integer`` ``auth_user.id``, or between any two
models) changes its column the same way, to the type Django gives it (the new
target's ``rel_db_type``, read from the state): the old constraint goes with
the old column in the swap, the new one is added there ``NOT VALID`` and
validated in the next migration; the swap's reverse is written here (drop the
new constraint, back to the old type, the old constraint added again).

The original ``AlterField`` is the state operation of the swap migration,
where the database change becomes true, so the project state ends where the
original left it. What the planner cannot make correct (a primary key other
tables reference, a database default, a nullability change together with the
type, exclusion constraints) gets a remedy with no code, only the summary of
what must be done by hand.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pglast import ast, enums

from schemaops.remedy.code import django_kind
from schemaops.remedy.transform import deparse
from schemaops.statements import ident, parse

if TYPE_CHECKING:
    from django.db.migrations.operations.base import Operation
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import PlanContext, Remedy

KIND = "shadow-column-swap"
BETWEEN_PHASES = "after `schemaops migrate --phase pre`, before `--phase post`"


class Unsupported(Exception):
    """The change needs care the planner does not give: the remedy says so, with no code."""


@dataclass
class Shadow:
    """Names and SQL of one online type change."""

    app_label: str
    model: str
    table: str
    column: str
    shadow: str
    new_type: str
    cast: str  # the old column's value as the new type, over a column reference {col}
    not_null: bool
    auto: bool  # an auto-incrementing primary key: the sequence moves
    primary_key: bool
    pg_version: int
    builds: list[str] = field(default_factory=list)  # CREATE INDEX CONCURRENTLY on the shadow
    unbuilds: list[str] = field(default_factory=list)
    attach: list[str] = field(default_factory=list)  # in the swap: renames, USING INDEX
    checks: list[tuple[str, str]] = field(default_factory=list)  # (name, ADD ... NOT VALID)
    reverse: list[str] = field(default_factory=list)  # the swap's reverse

    def value(self, prefix: str = "") -> str:
        return self.cast.format(col=prefix + ident(self.column))

    @property
    def function(self) -> str:
        return _name(f"{self.table}_{self.column}_retype")

    @property
    def not_null_check(self) -> str:
        return _name(f"{self.table}_{self.shadow}_notnull")


def plan_retype(
    op: Operation, app_label: str, state: ProjectState, context: PlanContext
) -> Remedy | None:
    """The remedy for an ``AlterField`` whose type (or indexed collation) change rewrites
    or rebuilds under ACCESS EXCLUSIVE; None when the change is not one."""
    pg_version = context.pg_version
    if django_kind(op) != "AlterField":
        return None
    alter: Any = op  # an AlterField
    model: Any = state.models.get((app_label, alter.model_name_lower))
    old = model.fields.get(alter.name) if model is not None else None
    new = alter.field
    if old is None or old.many_to_many or new.many_to_many:
        return None
    repointed = _repointed_types(app_label, state, model, old, new, pg_version)
    if repointed is None and not _rewrites(old, new, model, alter.name, pg_version):
        return _recheck(alter, app_label, state, context)
    from schemaops.plan import column_for, db_table_for

    table = db_table_for(app_label, model.name, model.options)
    column = column_for(alter.name, old)
    try:
        shadow = _shadow(
            op, app_label, state, model, old, new, table, column, pg_version, repointed
        )
    except Unsupported as why:
        return _by_hand(table, column, str(why))
    except Exception:  # a state Django cannot render: no remedy rather than a wrong one
        return None
    return _remedy(op, shadow)


def _rewrites(old: Any, new: Any, model: Any, name: str, pg_version: int) -> bool:
    """A type change that is not binary-coercible, or a collation change on an indexed column."""
    from schemaops.columns import binary_coercible, field_db_type

    if old.is_relation or new.is_relation:
        return False  # a foreign key's type follows its target: the target's change says so
    old_type = field_db_type(old, None, pg_version // 10000)
    new_type = field_db_type(new, None, pg_version // 10000)
    if old_type is None or new_type is None:
        return False
    if not binary_coercible(old_type, new_type):
        return True
    collation = getattr(old, "db_collation", None) != getattr(new, "db_collation", None)
    return collation and _indexed(old, model, name)


def _repointed_types(
    app_label: str, state: Any, model: Any, old: Any, new: Any, pg_version: int
) -> tuple[str, str] | None:
    """(old, new) column types of a foreign key re-pointed to a model whose key has
    another type that is not binary-coercible (bigint to ``auth_user.id`` integer): the
    column changes type as Django's ``ALTER COLUMN ... TYPE`` does, online; else None."""
    from schemaops.columns import binary_coercible, has_column, normal_type

    if not (old.is_relation and new.is_relation and has_column(old) and has_column(new)):
        return None
    old_type = _key_type(state, app_label, model.name_lower, old, pg_version)
    new_type = _key_type(state, app_label, model.name_lower, new, pg_version)
    if old_type is None or new_type is None:
        return None
    old_normal, new_normal = normal_type(old_type), normal_type(new_type)
    if old_normal is None or new_normal is None or binary_coercible(old_normal, new_normal):
        return None
    return old_type, new_type


def _key_type(state: Any, app_label: str, model_name: str, fk: Any, pg_version: int) -> str | None:
    """The column type of foreign key ``fk`` (of ``app_label.model_name``): its target
    column's ``rel_db_type``, from the state (a key that is itself a foreign key, as a
    multi-table child's, is followed)."""
    from django.db.migrations.utils import resolve_relation

    from schemaops.plan import offline_connection

    seen = 0
    while fk.is_relation and seen < 8:
        seen += 1
        app_label, model_name = resolve_relation(fk.remote_field.model, app_label, model_name)
        target = state.models.get((app_label, model_name))
        if target is None:
            return None
        to = (getattr(fk, "to_fields", None) or [None])[0]
        fk = (
            target.fields.get(to)
            if to
            else next((f for f in target.fields.values() if f.primary_key), None)
        )
        if fk is None:
            return None
    try:
        return str(fk.rel_db_type(offline_connection(pg_version)))
    except Exception:  # a field whose type needs more than the state: not planned
        return None


def _indexed(field_: Any, model: Any, name: str) -> bool:
    if field_.primary_key or field_.unique or field_.db_index:
        return True
    for item in (*model.options.get("indexes", ()), *model.options.get("constraints", ())):
        if name in [str(f).lstrip("-") for f in getattr(item, "fields", ()) or ()]:
            return True
    return any(name in group for group in model.options.get("unique_together") or ())


def _by_hand(table: str, column: str, why: str) -> Remedy:
    from schemaops.remedy.planner import ADVICE, Remedy

    return Remedy(
        ADVICE,
        f"no generated remedy for {table}.{column}: {why}. By hand: add a shadow column of "
        "the new type, keep it equal with a trigger, backfill it with `schemaops backfill`, "
        "build its indexes CONCURRENTLY, then swap the columns in one short post-deploy "
        "transaction",
    )


def _shadow(
    op: Any,
    app_label: str,
    state: ProjectState,
    model: Any,
    old: Any,
    new: Any,
    table: str,
    column: str,
    pg_version: int,
    repointed: tuple[str, str] | None = None,
) -> Shadow:
    """The online type change; ``repointed``: a foreign key's (old, new) column types
    (:func:`_repointed_types`), whose constraint moves to the new target in the swap."""
    from schemaops.columns import db_default, field_db_type, is_stored_generated
    from schemaops.plan import column_for

    if column_for(op.name, new) != column:
        raise Unsupported("the column is renamed as well")
    if db_default(old) is not None or db_default(new) is not None:
        raise Unsupported("the column has a database default")
    if is_stored_generated(old) or is_stored_generated(new):
        raise Unsupported("a generated column")
    if old.primary_key != new.primary_key:
        raise Unsupported("the primary key moves")
    if old.null and not new.null:
        raise Unsupported("the column becomes NOT NULL as well: make that its own change")
    referencing = _referencing(state, app_label, model, op.name, old)
    if referencing:
        raise Unsupported(
            "other tables' foreign keys reference it ("
            + ", ".join(referencing)
            + "): their columns must change type the same way, and the keys move with the swap"
        )
    taken = {column_for(n, f) for n, f in model.fields.items()}
    shadow_name = _name(f"{column}_new")
    if shadow_name in taken:
        raise Unsupported(f"a column {shadow_name} already exists")
    from schemaops.plan import offline_connection

    connection = offline_connection(pg_version)
    if repointed is not None:
        (old_type, new_type), same = repointed, False
    else:
        new_type, old_type = str(new.db_type(connection)), str(old.db_type(connection))
        same = field_db_type(old, None, pg_version // 10000) == field_db_type(
            new, None, pg_version // 10000
        )
    collation = getattr(new, "db_collation", None)
    type_sql = new_type + (f" COLLATE {ident(collation)}" if collation else "")
    cast = "{col}" if same else "{col}::" + new_type
    from schemaops.columns import is_auto_field

    out = Shadow(
        app_label,
        model.name,
        table,
        column,
        shadow_name,
        type_sql,
        cast,
        not new.null,
        is_auto_field(old) and is_auto_field(new),
        bool(new.primary_key),
        pg_version,
    )
    _mirror_indexes(op, app_label, state, out)
    if repointed is not None:
        out.reverse = _repoint_foreign_key(op, app_label, state, out, old_type)
    else:
        out.reverse = _reverse_sql(op, app_label, state, out, old_type)
    return out


def _repoint_foreign_key(
    op: Any, app_label: str, state: ProjectState, out: Shadow, old_type: str
) -> list[str]:
    """A re-pointed foreign key: its new constraint is added ``NOT VALID`` in the swap (the
    old one goes with the old column) and validated after it; returns the swap's reverse,
    written here (Django's reverse SQL names the constraint it drops from the database)."""
    after = state.clone()
    op.state_forwards(app_label, after)
    new_fk = _fk_sql(after, app_label, op.model_name, op.name, out.pg_version)
    old_fk = _fk_sql(state, app_label, op.model_name, op.name, out.pg_version, not_valid=False)
    table, column = ident(out.table), ident(out.column)
    reverse = [
        f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {old_type} USING {column}::{old_type}"
    ]
    if new_fk is not None:
        name, statement = new_fk
        out.checks.append((name, statement))
        reverse.insert(0, f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {ident(name)}")
    if old_fk is not None:
        reverse.append(old_fk[1])
    return reverse


def _fk_sql(
    state: ProjectState,
    app_label: str,
    model_name: str,
    name: str,
    pg_version: int,
    not_valid: bool = True,
) -> tuple[str, str] | None:
    """(name, ``ADD CONSTRAINT ... FOREIGN KEY``, ``NOT VALID`` unless told) of the field's
    constraint as Django names and writes it; None for ``db_constraint=False``."""
    from schemaops.plan import offline_connection

    model = state.apps.get_model(app_label, model_name)
    field_ = model._meta.get_field(name)
    if not field_.db_constraint:
        return None
    editor = offline_connection(pg_version).schema_editor(collect_sql=True, atomic=False)
    statement = editor._create_fk_sql(model, field_, "_fk_%(to_table)s_%(to_column)s")
    (raw,) = parse(str(statement))
    (cmd,) = raw.node.cmds
    cmd.def_.skip_validation = not_valid
    cmd.def_.initially_valid = not not_valid
    return str(cmd.def_.conname), deparse(raw.node)


def _referencing(state: Any, app_label: str, model: Any, name: str, old: Any) -> list[str]:
    """Foreign keys (of any model) whose target column is this one."""
    from django.db.migrations.utils import resolve_relation

    target = (app_label, model.name_lower)
    found = []
    for (app, model_name), other in state.models.items():
        for field_name, f in other.fields.items():
            remote = getattr(f, "remote_field", None)
            if remote is None:
                continue
            points_here = resolve_relation(remote.model, app, model_name) == target
            if f.many_to_many:  # a join table's column references each side's key
                if old.primary_key and (points_here or (app, model_name) == target):
                    found.append(f"{app}.{other.name}.{field_name} (its join table)")
                continue
            if not points_here or getattr(f, "to_fields", None) is None:
                continue
            to = (f.to_fields or [None])[0]
            if (to is None and old.primary_key) or to == name:
                found.append(f"{app}.{other.name}.{field_name}")
    return sorted(found)


def _name(text: str) -> str:
    from django.db.backends.utils import truncate_name

    return str(truncate_name(text, 63))


# -- indexes and constraints of the final model, built on the shadow column ----------


def _mirror_indexes(op: Any, app_label: str, state: ProjectState, out: Shadow) -> None:
    """Every index, unique and check constraint of the final model that covers the column:
    built on the shadow column before the deploy, attached under its own name in the swap."""
    for statement in _final_statements(op, app_label, state, out):
        for raw in parse(statement):
            node = raw.node
            if isinstance(node, ast.IndexStmt):
                if _mentions(node, out.column):
                    _mirror_index(node, out)
            elif isinstance(node, ast.AlterTableStmt):
                for cmd in node.cmds or ():
                    if _mentions(cmd, out.column):
                        _mirror_constraint(cmd.def_, out)
            else:
                raise Unsupported(f"cannot rebuild {deparse(node)[:60]}")


def _final_statements(op: Any, app_label: str, state: ProjectState, out: Shadow) -> list[str]:
    """Django's own statements for the final model's indexes and constraints on the column."""
    from schemaops.plan import offline_connection

    after = state.clone()
    op.state_forwards(app_label, after)
    model = after.apps.get_model(app_label, op.model_name)
    field_ = model._meta.get_field(op.name)
    editor = offline_connection(out.pg_version).schema_editor(collect_sql=True, atomic=False)
    editor._is_collation_deterministic = _deterministic  # Django asks the database
    found: list[Any] = []
    if field_.primary_key:
        found.append(editor._create_like_index_sql(model, field_))
    elif field_.unique:
        found += [editor._create_unique_sql(model, [field_])]
        found.append(editor._create_like_index_sql(model, field_))
    elif field_.db_index:
        found += editor._field_indexes_sql(model, field_)
    for index in model._meta.indexes:
        found.append(index.create_sql(model, editor))
    for constraint in model._meta.constraints:
        if type(constraint).__name__ not in ("UniqueConstraint", "CheckConstraint"):
            if op.name in (getattr(constraint, "fields", None) or ()) or _text_mentions(
                str(constraint), out.column
            ):
                raise Unsupported(f"the {type(constraint).__name__} {constraint.name}")
            continue
        found.append(constraint.create_sql(model, editor))
    for group in model._meta.unique_together:
        fields = [model._meta.get_field(n) for n in group]
        found.append(editor._create_unique_sql(model, fields))
    return [str(s) for s in found if s is not None]


def _deterministic(collation: str) -> bool:
    """Is a collation deterministic (so Django gives a varchar column a ``_like`` index)?
    Every collation PostgreSQL creates at initdb is; only ``CREATE COLLATION ...
    deterministic = false`` makes one that is not, and that cannot be told offline."""
    predefined = collation in ("C", "POSIX", "ucs_basic", "default", "unicode")
    if (
        predefined
        or collation.endswith("-x-icu")
        or re.fullmatch(r"[a-z]{2,3}_[A-Z]{2}.*", collation)
    ):
        return True
    raise Unsupported(f"the collation {collation} may be nondeterministic")


def _text_mentions(text: str, column: str) -> bool:
    return column in text


class _Columns:
    """Column names a node reads (ColumnRef's last part, IndexElem's name)."""

    def __init__(self, column: str, replace: str | None = None) -> None:
        self.column, self.replace, self.found = column, replace, False

    def walk(self, node: Any) -> None:
        if isinstance(node, tuple | list):
            for item in node:
                self.walk(item)
            return
        if not isinstance(node, ast.Node):
            return
        if isinstance(node, ast.IndexElem) and node.name == self.column:
            self.found = True
            if self.replace:
                node.name = self.replace
        if isinstance(node, ast.ColumnRef):
            last = node.fields[-1] if node.fields else None
            if isinstance(last, ast.String) and last.sval == self.column:
                self.found = True
                if self.replace:
                    kept = tuple(node.fields or ())[:-1]
                    node.fields = (*kept, ast.String(sval=self.replace))
        for name in node:
            if name == "relation":
                continue
            self.walk(getattr(node, name))


def _mentions(node: Any, column: str) -> bool:
    seen = _Columns(column)
    seen.walk(node)
    if isinstance(node, ast.AlterTableCmd) and node.def_ is not None:
        keys = getattr(node.def_, "keys", None) or ()
        seen.found = seen.found or any(getattr(k, "sval", None) == column for k in keys)
    return seen.found


def _temporary(name: str) -> str:
    return _name(f"{name}_rt")


def _mirror_index(node: Any, out: Shadow) -> None:
    name = str(node.idxname)
    clone = copy.deepcopy(node)
    _Columns(out.column, out.shadow).walk(clone)
    clone.idxname = _temporary(name)
    clone.concurrent = True
    clone.if_not_exists = True
    out.builds.append(deparse(clone))
    out.unbuilds.append(f"DROP INDEX CONCURRENTLY IF EXISTS {ident(_temporary(name))}")
    out.attach.append(f"ALTER INDEX {ident(_temporary(name))} RENAME TO {ident(name)}")


def _mirror_constraint(con: Any, out: Shadow) -> None:
    table = ident(out.table)
    if con.contype == enums.ConstrType.CONSTR_CHECK:
        clone = copy.deepcopy(con)
        clone.skip_validation = True
        clone.initially_valid = False
        cmd = ast.AlterTableCmd(subtype=enums.AlterTableType.AT_AddConstraint, def_=clone)
        stmt = ast.AlterTableStmt(
            relation=ast.RangeVar(relname=out.table, inh=True, relpersistence="p"),
            cmds=(cmd,),
            objtype=enums.ObjectType.OBJECT_TABLE,
        )
        out.checks.append((str(con.conname), deparse(stmt)))
        return
    plain = not (con.including or con.options or con.deferrable or con.indexname)
    if con.contype != enums.ConstrType.CONSTR_UNIQUE or not plain:
        raise Unsupported(f"the constraint {con.conname}")
    name = str(con.conname)
    keys = [out.shadow if k.sval == out.column else str(k.sval) for k in con.keys]
    temp = ident(_temporary(name))
    columns = ", ".join(ident(k) for k in keys)
    out.builds.append(
        f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {temp} ON {table} ({columns})"
    )
    out.unbuilds.append(f"DROP INDEX CONCURRENTLY IF EXISTS {temp}")
    out.attach.append(f"ALTER TABLE {table} ADD CONSTRAINT {ident(name)} UNIQUE USING INDEX {temp}")


# -- the plan ---------------------------------------------------------------------------


def _remedy(op: Any, s: Shadow) -> Remedy:
    from django.db import migrations

    from schemaops.remedy.planner import MigrationSpec, Remedy, run_sql

    table, shadow = ident(s.table), ident(s.shadow)
    steps = [MigrationSpec("expand", [_database_only(run_sql(*_expand(s)))])]
    pk_index = ident(_temporary(f"{s.table}_pkey"))
    builds, unbuilds = list(s.builds), list(s.unbuilds)
    if s.primary_key:
        builds.insert(
            0, f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {pk_index} ON {table} ({shadow})"
        )
        unbuilds.insert(0, f"DROP INDEX CONCURRENTLY IF EXISTS {pk_index}")
    if builds:
        steps.append(
            MigrationSpec("index", [_database_only(run_sql(builds, unbuilds))], atomic=False)
        )
    steps.append(
        MigrationSpec("fill", [_database_only(run_sql(*_fill(s)))], atomic=False, post=True)
    )
    swap = migrations.SeparateDatabaseAndState(
        state_operations=[op], database_operations=[run_sql(_swap(s), _unswap(s))]
    )
    steps.append(MigrationSpec("swap", [swap], post=True))
    if s.checks:
        validate = [f"ALTER TABLE {table} VALIDATE CONSTRAINT {ident(n)}" for n, _ in s.checks]
        steps.append(MigrationSpec("check", [_database_only(run_sql(validate))], post=True))
    summary = (
        f"change {s.table}.{s.column}'s type online: a shadow column {s.shadow} kept equal by a "
        "trigger and its indexes built CONCURRENTLY before the deploy; backfill; after the "
        "deploy, swap the columns in one short transaction and drop the old one"
    )
    backfill = (
        f"{BETWEEN_PHASES}: schemaops backfill start {s.app_label}.{s.model} "
        f'--set "{s.shadow} = {s.value()}" '
        f'--where "{s.shadow} IS NULL AND {s.column} IS NOT NULL" --wait'
    )
    return Remedy(KIND, summary, steps, backfill)


def _database_only(operation: Any) -> Any:
    from django.db import migrations

    return migrations.SeparateDatabaseAndState(database_operations=[operation])


def _expand(s: Shadow) -> tuple[list[str], list[str]]:
    table, shadow, function = ident(s.table), ident(s.shadow), ident(s.function)
    execute = "FUNCTION" if s.pg_version >= 110000 else "PROCEDURE"
    forwards = [
        f"ALTER TABLE {table} ADD COLUMN {shadow} {s.new_type} NULL",
        f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $retype$ "
        f"BEGIN NEW.{shadow} := {s.value('NEW.')}; RETURN NEW; END $retype$",
        f"CREATE TRIGGER {function} BEFORE INSERT OR UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE {execute} {function}()",
    ]
    backwards = [
        f"DROP TRIGGER IF EXISTS {function} ON {table}",
        f"DROP FUNCTION IF EXISTS {function}()",
        f"ALTER TABLE {table} DROP COLUMN IF EXISTS {shadow}",
    ]
    return forwards, backwards


def _fill(s: Shadow) -> tuple[list[str], list[str]]:
    """After the deploy, each statement its own transaction (``atomic = False``): the rows
    the backfill left (none once it ran), then NOT NULL proven by a validated CHECK."""
    table, column, shadow = ident(s.table), ident(s.column), ident(s.shadow)
    forwards = [
        f"UPDATE {table} SET {shadow} = {s.value()} "
        f"WHERE {shadow} IS NULL AND {column} IS NOT NULL",
    ]
    if s.not_null:
        check = ident(s.not_null_check)
        forwards += [
            f"ALTER TABLE {table} ADD CONSTRAINT {check} CHECK ({shadow} IS NOT NULL) NOT VALID",
            f"ALTER TABLE {table} VALIDATE CONSTRAINT {check}",
            f"ALTER TABLE {table} ALTER COLUMN {shadow} SET NOT NULL",
            f"ALTER TABLE {table} DROP CONSTRAINT {check}",
        ]
    # back: nothing to undo (the shadow column goes with the expand's reverse)
    return forwards, []


def _swap(s: Shadow) -> list[str]:
    table, column, shadow = ident(s.table), ident(s.column), ident(s.shadow)
    function = ident(s.function)
    out = [
        f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE",
        f"DROP TRIGGER {function} ON {table}",
        f"DROP FUNCTION {function}()",
    ]  # no fill here (a scan under ACCESS EXCLUSIVE): rows written since the catch-up
    # went through the trigger
    sequence = _name(f"{s.table}_{s.column}_seq")
    moved = _name(f"{s.table}_{s.shadow}_seq")
    if s.auto:
        regclass = f"'{table}'::regclass"
        out.append(
            "DO $retype$ BEGIN "
            f"IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = {regclass} "
            f"AND attname = '{s.column}' AND attidentity <> '') THEN "
            f"ALTER TABLE {table} ALTER COLUMN {shadow} ADD GENERATED BY DEFAULT AS IDENTITY "
            f"(SEQUENCE NAME {ident(moved)}); "
            f"PERFORM setval('{ident(moved)}', last_value, is_called) FROM {ident(sequence)}; "
            "ELSE "
            f"ALTER SEQUENCE {ident(sequence)} AS {s.new_type}; "
            f"ALTER SEQUENCE {ident(sequence)} OWNED BY {table}.{shadow}; "
            f"ALTER TABLE {table} ALTER COLUMN {shadow} SET DEFAULT "
            f"nextval('{ident(sequence)}'::regclass); "
            "END IF; END $retype$"
        )
    out.append(f"ALTER TABLE {table} DROP COLUMN {column}")
    out.append(f"ALTER TABLE {table} RENAME COLUMN {shadow} TO {column}")
    if s.auto:
        out.append(
            "DO $retype$ BEGIN "
            f"IF to_regclass('{ident(moved)}') IS NOT NULL THEN "
            f"ALTER SEQUENCE {ident(moved)} RENAME TO {ident(sequence)}; END IF; END $retype$"
        )
    if s.primary_key:
        pkey = ident(_name(f"{s.table}_pkey"))
        out.append(
            f"ALTER TABLE {table} ADD CONSTRAINT {pkey} PRIMARY KEY USING INDEX "
            f"{ident(_temporary(f'{s.table}_pkey'))}"
        )
    out += s.attach
    out += [sql for _, sql in s.checks]
    return out


def _unswap(s: Shadow) -> list[str]:
    """Back to the old type the way Django's own reverse does it (a rewrite: a rollback
    is an emergency), so the earlier migrations' reverses find nothing left to undo."""
    return list(s.reverse)


def _reverse_sql(op: Any, app_label: str, state: Any, s: Shadow, old_type: Any) -> list[str]:
    """Django's reverse statements; for an auto-incrementing key (whose SQL Django reads
    from the database) the same two statements written here."""
    from schemaops.plan import operation_sql
    from schemaops.remedy.transform import reversible

    try:
        return reversible(operation_sql(op, app_label, state, s.pg_version)[1])
    except Exception:
        if not s.auto:
            raise Unsupported("Django's reverse SQL needs the database") from None
    table, column = ident(s.table), ident(s.column)
    sequence = ident(_name(f"{s.table}_{s.column}_seq"))
    return [
        f"ALTER TABLE {table} ALTER COLUMN {column} TYPE {old_type} USING {column}::{old_type}",
        f"ALTER SEQUENCE {sequence} AS {old_type}",
    ]


# -- a type change without a rewrite that re-validates CHECK constraints (SO219) ----------


def _recheck(op: Any, app_label: str, state: ProjectState, context: PlanContext) -> Remedy | None:
    """A type change without a rewrite that makes PostgreSQL re-validate the column's
    ``Meta.constraints`` checks (a full scan under ACCESS EXCLUSIVE): remove the checks
    and change the type in one migration (no scan: nothing to check), then add them back
    through the planner (``NOT VALID``, validated in the next migration)."""
    from django.db import migrations

    from schemaops.remedy.planner import MigrationSpec, Remedy, plan_operation

    model = state.models[(app_label, op.model_name_lower)]
    checks = [
        c
        for c in model.options.get("constraints", ())
        if type(c).__name__ == "CheckConstraint" and _reads(c, op.name)
    ]
    if not checks:
        return None
    removes = [migrations.RemoveConstraint(op.model_name, c.name) for c in checks]
    after = state.clone()
    for operation in (*removes, op):
        operation.state_forwards(app_label, after)
    steps = [MigrationSpec("alter", [*removes, op])]
    for check in checks:
        add = migrations.AddConstraint(op.model_name, check)
        readd = plan_operation(add, app_label, after, context.for_other_operation())
        if readd is None or readd.advice or not readd.steps:
            return None
        steps += readd.steps
        add.state_forwards(app_label, after)
    names = ", ".join(c.name for c in checks)
    summary = (
        f"drop the CHECK constraint(s) {names} around the type change (PostgreSQL would "
        "re-validate them under ACCESS EXCLUSIVE), add them back NOT VALID and VALIDATE "
        "them in the next migration"
    )
    return Remedy("recheck-not-valid", summary, steps)


def _reads(constraint: Any, name: str) -> bool:
    """Does a CheckConstraint's condition mention the field (``name`` or ``name__...``)?"""
    condition = getattr(constraint, "condition", None) or getattr(constraint, "check", None)
    found: list[str] = []

    def walk(node: Any) -> None:
        for child in getattr(node, "children", ()):
            if isinstance(child, tuple):
                found.append(str(child[0]).split("__")[0])
                walk_value(child[1])
            else:
                walk(child)

    def walk_value(value: Any) -> None:
        expression_name = getattr(value, "name", None)
        if isinstance(expression_name, str):
            found.append(expression_name.split("__")[0])
        for source in getattr(value, "get_source_expressions", lambda: [])():
            walk_value(source)

    walk(condition)
    return name in found
