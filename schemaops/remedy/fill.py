"""Remedies where data must be filled: the expand, ``schemaops backfill``, contract sequence.

Three kinds of change need rows filled, and no single migration can do it
without either blocking the table or giving every old row one value:

- ``AddField`` of a column whose value is computed per row: a callable
  ``default`` (``uuid.uuid4``, ``timezone.now``, a function of the project)
  or a volatile ``db_default``. Django calls the callable *once* and writes
  that one value into every existing row (a unique field fails on the second
  row); a volatile ``db_default`` rewrites the table. The remedy adds the
  column nullable in the database before the deploy (the state gets the
  original field, so the new code's Python default fills new rows, and the
  old code, which does not know the column, inserts NULL), fills the existing
  rows with ``schemaops backfill`` (a per-row SQL expression when the callable
  has one, else a generated :class:`~schemaops.backfill.Backfill` class that
  calls the field's own default for each row), and after the deploy makes it
  NOT NULL by a validated CHECK and builds its unique index and indexes
  CONCURRENTLY.
- ``AlterField`` from ``null=True`` to ``null=False``: the old code may still
  write NULL, so the whole tightening runs after the deploy (a CHECK ... NOT
  VALID added before it would refuse the old code's NULLs from then on).
  Django's own fill (``UPDATE ... SET col = <default> WHERE col IS NULL``,
  one transaction) becomes a ``schemaops backfill`` step.
- ``RunPython`` / ``RunSQL`` data changes on an existing table: the change
  leaves the migration and becomes a backfill run after it.

Everything is built from the statements Django's schema editor emits
(:func:`schemaops.plan.operation_sql`), rewritten by
:mod:`schemaops.remedy.transform`; code is written by Django's serializer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pglast import ast, enums

from schemaops.remedy.code import django_kind
from schemaops.remedy.transform import NOT_NULL_BY_CHECK, deparse, reversible, rewrite
from schemaops.statements import ident, parse, relname

if TYPE_CHECKING:
    from django.db.migrations.operations.base import Operation
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import MigrationSpec, PlanContext, Remedy

FILL = "fill-then-tighten"
BACKFILL_FILE = "backfills.py"
# how a remedy's backfill note says that `schemaops fix` writes its Backfill class
FIX_WRITES = "`schemaops fix` writes"

# Callables whose value is the same for every row anyway: one value for all rows is right.
CONSTANT_FACTORIES = (dict, list, set, tuple, str, int, float, bool, frozenset, bytes)

# Python defaults with a per-row SQL equivalent, for ``schemaops backfill start --set``
# (the minimum PostgreSQL version, as server_version_num, where the function exists).
SQL_FOR_CALLABLE: dict[str, tuple[str, int]] = {
    "uuid.uuid4": ("gen_random_uuid()", 130000),
    "django.utils.timezone.now": ("now()", 0),
    "datetime.datetime.now": ("localtimestamp", 0),
    "datetime.date.today": ("current_date", 0),
}


def callable_name(value: Any) -> str:
    """``uuid.uuid4`` for the function ``uuid4`` of module ``uuid``."""
    module = getattr(value, "__module__", "") or ""
    name = getattr(value, "__qualname__", None) or type(value).__name__
    return f"{module}.{name}" if module and module != "builtins" else name


def per_row_default(field: Any) -> Any | None:
    """The field's callable ``default`` when it gives each row its own value
    (``dict``, ``list`` and the like give equal values: not per row)."""
    from django.db.models.fields import NOT_PROVIDED

    default = getattr(field, "default", NOT_PROVIDED)
    if default is NOT_PROVIDED or not callable(default) or default in CONSTANT_FACTORIES:
        return None
    return default


def volatile_db_default(field: Any) -> bool:
    """A ``db_default`` PostgreSQL must compute per row (or may: unknown counts)."""
    from schemaops.columns import db_default, default_volatility

    value = db_default(field)
    return value is not None and default_volatility(value) != "stable"


def fill_sql(field: Any, pg_version: int) -> str | None:
    """A per-row SQL expression equal to the field's callable default, when one is known."""
    default = per_row_default(field)
    if default is None:
        return None
    known = SQL_FOR_CALLABLE.get(callable_name(default))
    if known is None or pg_version < known[1]:
        return None
    return known[0]


def plan_fill(
    op: Operation,
    app_label: str,
    state: ProjectState,
    context: PlanContext,
) -> Remedy | None:
    """The remedy of ``op`` when data must be filled, or None when it is not such a change."""
    from schemaops.plan import db_table_for

    pg_version, new_tables = context.pg_version, context.new_tables
    kind = django_kind(op)
    if kind in ("RunPython", "RunSQL"):
        try:
            return plan_data_change(op, app_label, state, new_tables, context.statements)
        except Exception:  # a function or SQL it cannot read: the rules say what is wrong
            return None
    if kind not in ("AddField", "AlterField"):
        return None
    model = state.models.get((app_label, op.model_name_lower))  # type: ignore[attr-defined]
    field = getattr(op, "field", None)
    if model is None or field is None or field.many_to_many or field.primary_key:
        return None
    table = db_table_for(app_label, model.name, model.options)
    if table in new_tables:
        return None
    try:
        if kind == "AddField":
            if per_row_default(field) is None and not volatile_db_default(field):
                return None
            return _add_field(op, app_label, state, model, table, pg_version)
        old = model.fields.get(op.name)  # type: ignore[attr-defined]
        if old is None or not old.null or field.null:
            return None
        return _tighten(op, app_label, state, model, table, pg_version)
    except Exception:  # SQL that needs the database, or a broken state: no remedy
        return None


def _clone(field: Any, **changes: Any) -> Any:
    """The field with keyword arguments changed (``None``: removed)."""
    _, _path, args, kwargs = field.deconstruct()
    for key, value in changes.items():
        if value is None:
            kwargs.pop(key, None)
        else:
            kwargs[key] = value
    return type(field)(*args, **kwargs)


def _add_field(
    op: Any, app_label: str, state: Any, model: Any, table: str, pg_version: int
) -> Remedy:
    from django.db import migrations

    from schemaops.plan import column_for, operation_sql
    from schemaops.remedy.planner import MigrationSpec, Remedy, run_sql

    field = op.field
    column = column_for(op.name, field)
    # in the database: nullable, no default (one value for all rows), no index yet
    bare = _clone(field, null=True, unique=None, db_index=None, default=None, db_default=None)
    add = migrations.AddField(op.model_name, op.name, bare)
    forwards, backwards = operation_sql(add, app_label, state, pg_version)
    interim = state.clone()
    add.state_forwards(app_label, interim)
    db_value = None
    if volatile_db_default(field):  # SET DEFAULT never rewrites: new rows get their value
        with_default = _clone(bare, db_default=field.db_default)
        more, _ = operation_sql(
            migrations.AlterField(op.model_name, op.name, with_default),
            app_label,
            interim,
            pg_version,
        )
        set_default = [s for s in more if _set_default_expr(s) is not None]
        forwards += set_default
        db_value = _set_default_expr(set_default[0]) if set_default else None
        migrations.AlterField(op.model_name, op.name, with_default).state_forwards(
            app_label, interim
        )
    value = fill_sql(field, pg_version)
    t, c = ident(table), ident(column)
    if value is not None:  # the old code's INSERTs during the deploy get a value of their own
        forwards.append(f"ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {value}")
    expand = migrations.SeparateDatabaseAndState(
        state_operations=[op], database_operations=[run_sql(forwards, reversible(backwards))]
    )
    steps = [MigrationSpec("expand", [expand])]
    # after the deploy and the backfill: what Django does to go from the bare column to
    # the field (NOT NULL, UNIQUE, indexes), its own fill left out, without long locks
    tighten = migrations.AlterField(op.model_name, op.name, field)
    after, undo = operation_sql(tighten, app_label, interim, pg_version)
    after = _without_fill(after)[0]
    if value is not None:  # the original column has no database default
        after.append(f"ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT")
        undo = [f"ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {value}", *undo]
    steps += _contract_steps(op, after, undo, table)
    remedy = Remedy(
        FILL,
        f"add {column} nullable before the deploy (the new code's default fills new rows, "
        "the old code inserts without it); fill the existing rows one by one with "
        "`schemaops backfill`; after it, "
        + ("make it NOT NULL through a validated CHECK" if not field.null else "finish it")
        + (" and build its unique index CONCURRENTLY" if field.unique else ""),
        steps,
    )
    _backfill(remedy, app_label, model.name, op.name, field, column, pg_version, db=db_value)
    return remedy


def _tighten(
    op: Any,
    app_label: str,
    state: Any,
    model: Any,
    table: str,
    pg_version: int,
) -> Remedy | None:
    from django.db import migrations

    from schemaops.plan import column_for, operation_sql
    from schemaops.remedy.planner import MigrationSpec, PlanContext, Remedy, plan_operation

    # anything else the AlterField changes (type, length, index...) is for the new code
    # and goes before the deploy, planned as any other AlterField; only NOT NULL waits
    pre: list[MigrationSpec] = []
    kinds = []
    interim = state
    relaxed = _clone(op.field, null=True)
    if _db_differs(model.fields[op.name], relaxed):
        relax = migrations.AlterField(op.model_name, op.name, relaxed)
        planned = plan_operation(relax, app_label, state, PlanContext(pg_version=pg_version))
        pre = planned.steps if planned is not None else [MigrationSpec("expand", [relax])]
        kinds = [planned.kind] if planned is not None else []
        interim = state.clone()
        relax.state_forwards(app_label, interim)
    forwards, backwards = operation_sql(op, app_label, interim, pg_version)
    statements, filled = _without_fill(forwards)
    steps = _contract_steps(op, statements, backwards, table, state_op=op)
    if not steps:
        return None
    column = column_for(op.name, op.field)
    remedy = Remedy(
        "+".join([*kinds, NOT_NULL_BY_CHECK]),
        ("the rest of the change before the deploy; " if pre else "")
        + "after the deploy (the old code may still write NULL until then): "
        f"CHECK ({column} IS NOT NULL) NOT VALID, then VALIDATE it, SET NOT NULL "
        "(PostgreSQL 12+ skips the scan) and drop the check; existing NULLs are filled "
        "first with `schemaops backfill`",
        [*pre, *steps],
    )
    _backfill(remedy, app_label, model.name, op.name, op.field, column, pg_version, fill=filled)
    return remedy


def _db_differs(old: Any, new: Any) -> bool:
    """Does going from ``old`` to ``new`` reach the database (``default`` and the
    attributes Django keeps out of it, such as ``choices``, aside)?"""

    def key(field: Any) -> tuple[Any, ...]:
        _, path, args, kwargs = field.deconstruct()
        for attr in {*field.non_db_attrs, "default"} - {"db_column"}:
            kwargs.pop(attr, None)
        return path, args, kwargs

    return key(old) != key(new)


def _contract_steps(
    op: Any, statements: list[str], backwards: list[str], table: str, state_op: Any = None
) -> list[MigrationSpec]:
    """Post-deploy migrations running ``statements`` without long locks: indexes
    CONCURRENTLY, constraints NOT VALID then VALIDATE, NOT NULL through a CHECK.

    ``state_op`` (the original operation) goes into the state with the last step;
    the CHECK is a constraint of the model between the two, so ``check`` sees the
    SET NOT NULL proven.
    """
    from django.db import migrations

    from schemaops.remedy.planner import MigrationSpec, _not_null_check_states, run_sql

    done = rewrite(statements, set())
    if not done.expand and not done.validate:
        return []
    reverse = [*done.undo_before, *reversible(backwards), *done.undo_after]
    checks, uncheck = _not_null_check_states(_as_alter(op), done)
    first: Any = migrations.SeparateDatabaseAndState(
        state_operations=checks, database_operations=[run_sql(done.expand, reverse)]
    )
    steps = [MigrationSpec("contract", [first], atomic=not done.concurrent, post=True)]
    if done.validate:
        state_ops = [*([state_op] if state_op is not None else []), *uncheck]
        second: Any = migrations.SeparateDatabaseAndState(
            state_operations=state_ops, database_operations=[run_sql(done.validate)]
        )
        steps.append(MigrationSpec("validate", [second], post=True))
    elif state_op is not None:
        first.state_operations.append(state_op)
    return steps


def _as_alter(op: Any) -> Any:
    """An AlterField naming the same field (the NOT NULL check states are made for one)."""
    from django.db import migrations

    return migrations.AlterField(op.model_name, op.name, op.field)


def _without_fill(statements: list[str]) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Django's statements without its one-transaction fill of NULLs.

    For ``null=True`` to ``null=False`` with a default, Django runs ``SET DEFAULT x``,
    ``UPDATE t SET c = x WHERE c IS NULL``, ``SET NOT NULL``, ``DROP DEFAULT``: the
    UPDATE rewrites the NULL rows under the ACCESS EXCLUSIVE lock (and for a callable
    default gives them all one value). The UPDATE and the temporary DEFAULT go; the
    UPDATE's (table, column, value) are returned for the backfill.
    """
    nodes = [stmt.node for text in statements for stmt in parse(text)]
    filled: list[tuple[str, str, str]] = []
    for node in nodes:
        if isinstance(node, ast.UpdateStmt) and node.targetList:
            target = node.targetList[0]
            filled.append((relname(node.relation) or "", str(target.name), deparse(target.val)))
    columns = {(t, c) for t, c, _v in filled}
    kept = []
    for node in nodes:
        if isinstance(node, ast.UpdateStmt | ast.ConstraintsSetStmt) and filled:
            continue
        if isinstance(node, ast.AlterTableStmt) and columns:
            table = relname(node.relation) or ""
            cmds = [
                c
                for c in node.cmds or ()
                if not (
                    c.subtype == enums.AlterTableType.AT_ColumnDefault
                    and (table, str(c.name)) in columns
                )
            ]
            if not cmds:
                continue
            node.cmds = tuple(cmds)
        kept.append(deparse(node))
    return kept, filled


def _backfill(
    remedy: Remedy,
    app_label: str,
    model: str,
    name: str,
    field: Any,
    column: str,
    pg_version: int,
    *,
    fill: list[tuple[str, str, str]] | None = None,
    db: str | None = None,
) -> None:
    """Say how existing rows get their value: a ``--set`` command, a Backfill class, or
    (no default at all) that the rows must be filled and with what command."""
    value = fill_sql(field, pg_version)
    if value is None:
        value = db  # the db_default's own expression, computed per row
    if value is None and fill and per_row_default(field) is None:
        value = fill[0][2]  # Django's own constant
    when = (
        "after `schemaops migrate --phase pre` and the deploy, before "
        "`schemaops migrate --phase post`"
    )
    if value is not None:
        remedy.backfill = (
            f"{when}: schemaops backfill start {app_label}.{model} "
            f'--set "{column} = {value}" --where "{column} IS NULL" --wait'
        )
        return
    if per_row_default(field) is not None:
        cls = _class_name(model, name)
        remedy.backfill_class = (cls, backfill_class_code(cls, app_label, model, name))
        remedy.backfill = (
            f"{FIX_WRITES} class {cls} to {app_label}/{BACKFILL_FILE} (it calls "
            f"{callable_name(field.default)}() for each row); {when}: "
            f"schemaops backfill start {app_label}.{cls} --wait"
        )
        return
    remedy.backfill = (
        f"{model}.{name} has no default: existing NULLs must be filled before the "
        f"post-deploy migration (its VALIDATE fails otherwise); {when}: "
        f'schemaops backfill start {app_label}.{model} --set "{column} = <value>" '
        f'--where "{column} IS NULL" --wait'
    )


def as_fix_reports(backfill: str) -> str:
    """A remedy's backfill note as ``schemaops fix`` prints it once it wrote the files:
    "wrote class ..." where the note says that `schemaops fix` writes it."""
    if backfill.startswith(FIX_WRITES):
        return "wrote" + backfill.removeprefix(FIX_WRITES)
    return backfill


def _set_default_expr(statement: str) -> str | None:
    """The expression of an ``ALTER COLUMN ... SET DEFAULT <expr>``, else None."""
    for stmt in parse(statement):
        node = stmt.node
        if not isinstance(node, ast.AlterTableStmt):
            continue
        for cmd in node.cmds or ():
            if cmd.subtype == enums.AlterTableType.AT_ColumnDefault and cmd.def_ is not None:
                return deparse(cmd.def_)
    return None


def _class_name(model: str, name: str) -> str:
    words = re.split(r"[^0-9A-Za-z]+", name)
    return "Fill" + model + "".join(w[:1].upper() + w[1:] for w in words if w)


def backfill_class_code(cls: str, app_label: str, model: str, name: str) -> str:
    """A Backfill class giving each row without a value the field's own default.

    ``field.get_default()`` calls the default once per row, so every row gets
    its own value; ``pending`` (rows still NULL) keeps it idempotent and lets the
    final sweep count what is left.
    """
    from django.db.migrations.writer import MigrationWriter

    label = MigrationWriter.serialize(f"{app_label}.{model}")[0]
    field_name = MigrationWriter.serialize(name)[0]
    lookup = MigrationWriter.serialize(f"{name}__isnull")[0]
    return "\n".join(
        [
            f"class {cls}(Backfill):",
            f'    """Gives each row {model}.{name} was added to a default of its own."""',
            "",
            f"    model = {label}",
            "",
            "    def pending(self, queryset):",
            f"        return queryset.filter(**{{{lookup}: True}})",
            "",
            "    def process(self, batch):",
            f"        field = self.model_class()._meta.get_field({field_name})",
            '        rows = list(self.pending(batch).only("pk"))',
            "        for row in rows:",
            "            setattr(row, field.attname, field.get_default())",
            "        return self.model_class()._default_manager.bulk_update(rows, [field.name])",
            "",
        ]
    )


BACKFILL_HEADER = (
    '"""Backfills of this app (`schemaops fix` adds to them), run with\n'
    '`schemaops backfill start <app>.<Class>`."""\n\n'
    "from schemaops.backfill import Backfill\n"
)


def with_backfill_classes(existing: str, classes: list[tuple[str, str]]) -> str:
    """``backfills.py`` with ``classes`` added (a class already there is kept as it is)."""
    text = existing or BACKFILL_HEADER
    if "from schemaops.backfill import Backfill" not in text:
        text = "from schemaops.backfill import Backfill\n" + text
    for cls, code in classes:
        if re.search(rf"^class {re.escape(cls)}\b", text, re.MULTILINE):
            continue
        text = text.rstrip("\n") + "\n\n\n" + code
    return text


# -- data changes: RunPython / RunSQL UPDATE as a backfill ---------------------------------

DATA = "data-change-to-backfill"
CREATES = {"create", "bulk_create", "get_or_create", "update_or_create"}
BULK_WRITES = {"update", "bulk_update", "delete"}
INTEGER_KEYS = {"AutoField", "BigAutoField", "SmallAutoField", "IntegerField", "BigIntegerField"}


def plan_data_change(
    op: Any,
    app_label: str,
    state: Any,
    new_tables: set[str] | None = None,
    statements: list[Any] | None = None,
) -> Remedy | None:
    """A RunPython or plain-UPDATE RunSQL taken out of the migration, run as a backfill
    after the pre-deploy step; None when the model it works on is not one known model
    (the rules then say so) or the change is not one a key range can split.
    ``statements``: the RunSQL's statements, parsed already (None: parsed here)."""
    from django.db import migrations

    if isinstance(op, migrations.RunPython):
        return _python_change(op, app_label, state, new_tables or set())
    if isinstance(op, migrations.RunSQL):
        return _sql_change(op, state, new_tables or set(), statements)
    return None


def _python_change(op: Any, app_label: str, state: Any, new_tables: set[str]) -> Remedy | None:
    from django.db import migrations

    from schemaops.plan import db_table_for
    from schemaops.pycode import global_names, has_loop, models_touched, unwrap
    from schemaops.remedy.planner import Remedy

    func = unwrap(op.code)
    if func is migrations.RunPython.noop or op.atomic is False:
        return None  # nothing, or already out of a transaction
    called = global_names(func)
    writes = called & BULK_WRITES or (called & {"save"} and has_loop(func))
    if not writes or called & CREATES:
        return None  # reads only, or makes new rows (not a walk over existing ones)
    found = models_touched(func, state)
    if len(found) != 1:
        return None
    app, model_name = found[0]
    model = state.models[(app, model_name.lower())]
    if db_table_for(app, model.name, model.options) in new_tables:
        return None  # a table this migration creates: empty, nothing to walk
    pk = next((f for f in model.fields.values() if f.primary_key), None)
    if pk is None or pk.get_internal_type() not in INTEGER_KEYS:
        return None  # a Python Backfill walks integer keys
    copied = _function_code(func)
    if copied is None:
        return None
    name = func.__name__
    cls = "".join(w[:1].upper() + w[1:] for w in name.split("_") if w) + "Backfill"
    remedy = Remedy(
        DATA,
        f"take RunPython({name}) out of the migration: it runs after the pre-deploy "
        f"migration as a schemaops Backfill on {app}.{model_name}, one key range per "
        "transaction",
        [],
    )
    remedy.backfill_class = (cls, _data_class_code(cls, app, model_name, name, copied))
    remedy.backfill = (
        f"{FIX_WRITES} class {cls} to {app_label}/{BACKFILL_FILE} (the function "
        f"{name} runs on one key range of {model_name} at a time); after `schemaops "
        f"migrate --phase pre`: schemaops backfill start {app_label}.{cls} --wait"
    )
    return remedy


def _function_code(func: Any) -> tuple[list[str], str] | None:
    """The module's import lines and the function's own source, with the helpers and
    constants of its module it needs (:func:`~schemaops.remedy.definitions.needed_source`),
    to copy into backfills.py."""
    import ast as pyast
    import sys

    from schemaops.remedy.definitions import module_tree, needed_source

    module = sys.modules.get(getattr(func, "__module__", ""))
    if module is None or func.__qualname__ != func.__name__ or func.__closure__:
        return None
    parsed = module_tree(module)  # read once, for its imports and for needed_source
    if parsed is None:
        return None
    nodes = [
        node
        for node in parsed[1].body
        if isinstance(node, pyast.Import)
        or (isinstance(node, pyast.ImportFrom) and node.module != "__future__")
    ]
    bound = frozenset((a.asname or a.name).split(".")[0] for node in nodes for a in node.names)
    copied = needed_source(module, {func.__name__}, bound, parsed)
    if copied is None:
        return None
    return [pyast.unparse(node) for node in nodes], "\n\n\n".join(c.rstrip() for c in copied)


def _data_class_code(
    cls: str, app: str, model: str, name: str, copied: tuple[list[str], str]
) -> str:
    from django.db.migrations.writer import MigrationWriter

    imports, source = copied
    label = MigrationWriter.serialize(f"{app}.{model}")[0]
    return "\n".join(
        [
            *imports,
            "from schemaops.remedy.fill import run_on_batch",
            "",
            "",
            source.rstrip(),
            "",
            "",
            f"class {cls}(Backfill):",
            f'    """RunPython({name}) of a migration, on one key range of {model} at a time."""',
            "",
            f"    model = {label}",
            "",
            "    def process(self, batch):",
            f"        return run_on_batch({name}, self.model_class(), batch)",
            "",
        ]
    )


def run_on_batch(func: Any, model: Any, batch: Any) -> int:
    """Run a RunPython function on one batch: ``apps.get_model`` gives it ``model`` with
    ``objects`` limited to ``batch`` (one key range); other models are the real ones.
    Returns the number of rows in the batch."""
    from django.db import connection

    rows = int(batch.count())
    func(_BatchApps(model, batch), _Editor(connection))
    return rows


class _BatchApps:
    def __init__(self, model: Any, batch: Any) -> None:
        self.model, self.batch = model, batch

    def get_model(self, app_label: str, model_name: str | None = None) -> Any:
        from django.apps import apps

        real = apps.get_model(app_label, model_name)
        return _BatchModel(real, self.batch) if real is self.model else real


class _BatchModel:
    """The model, with its managers limited to the batch's rows."""

    def __init__(self, model: Any, batch: Any) -> None:
        self._model = model
        self.objects = self._default_manager = batch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._model(*args, **kwargs)


class _Editor:
    def __init__(self, connection: Any) -> None:
        self.connection = connection


def _sql_change(
    op: Any, state: Any, new_tables: set[str], statements: list[Any] | None
) -> Remedy | None:
    """A RunSQL of plain UPDATEs of existing model tables, not already limited to a key
    range: `schemaops backfill start --set ... --where ...`."""
    from schemaops.remedy.planner import Remedy
    from schemaops.remedy.sqlops import statement_nodes

    commands = []
    for node in statements if statements is not None else statement_nodes(op.sql) or ():
        if not isinstance(node, ast.UpdateStmt) or node.fromClause or node.withClause:
            return None
        table = relname(node.relation) or ""
        model = _model_of(state, table)
        if model is None or table in new_tables or _keyed(node.whereClause, model):
            return None
        sets = " ".join(f'--set "{t.name} = {deparse(t.val)}"' for t in node.targetList or ())
        where = f' --where "{deparse(node.whereClause)}"' if node.whereClause else ""
        commands.append(
            f"schemaops backfill start {model.app_label}.{model.name} {sets}{where} --wait"
        )
    if not commands:
        return None
    remedy = Remedy(
        DATA,
        "take the UPDATE out of the migration: `schemaops backfill` runs it after the "
        "pre-deploy migration, one key range per transaction",
        [],
    )
    remedy.backfill = "after `schemaops migrate --phase pre`: " + "; ".join(commands)
    return remedy


def _keyed(where: Any, model: Any) -> bool:
    """Does the WHERE name the primary key (a batch of its own already)?"""
    if where is None:
        return False
    from schemaops.plan import column_for

    keys = {"pk", "id"} | {column_for(n, f) for n, f in model.fields.items() if f.primary_key}
    return bool(keys & set(_column_names(where)))


def _column_names(node: Any) -> Iterator[str]:
    """The last name of every column reference in the expression ``node`` (a walk of its
    members: a pglast Visitor inspects its own methods anew on every call)."""
    if isinstance(node, tuple):
        for item in node:
            yield from _column_names(item)
        return
    if not isinstance(node, ast.Node):
        return
    if isinstance(node, ast.ColumnRef):
        parts = [getattr(f, "sval", None) for f in node.fields or ()]
        if parts and isinstance(parts[-1], str):
            yield parts[-1]
    for member in node:
        yield from _column_names(getattr(node, member))


def _model_of(state: Any, table: str) -> Any | None:
    from schemaops.plan import db_table_for

    for model in state.models.values():
        if db_table_for(model.app_label, model.name, model.options) == table:
            return model
    return None
