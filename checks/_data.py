"""Helpers shared by the additive-only (SO1xx) and data-migration (SO3xx) rules.

Facts about fields (defaults, whether a change reaches the database), about
SQL statements already seen in a migration, about RunPython functions (read
from their code objects, never from their source text: which models they
fetch, what they call). The recipe pieces at the end are legacy (see there):
remedies come from the planner, :mod:`schemaops.remedy`.
"""

from __future__ import annotations

import types
from typing import Any

from pglast import ast, enums
from pglast.stream import RawStream

from schemaops.pycode import (  # noqa: F401 (re-exported: the rules import them from here)
    code_objects,
    global_names,
    has_loop,
    models_touched,
    string_constants,
    unwrap,
)
from schemaops.remedy.code import join_steps, migration_code, with_kwargs
from schemaops.rules import MigrationContext, OperationContext
from schemaops.statements import AT, CONSTR, alter_commands, ident, names, relname

# Callables whose value is the same for every row anyway: no surprise when evaluated once.
CONSTANT_FACTORIES = (dict, list, set, tuple, str, int, float, bool, frozenset, bytes)

# Python defaults with an SQL equivalent, for the backfill command line.
SQL_FOR_CALLABLE = {
    "uuid.uuid4": "gen_random_uuid()",
    "django.utils.timezone.now": "now()",
    "datetime.datetime.now": "now()",
    "datetime.date.today": "current_date",
}


# -- fields -------------------------------------------------------------------------


def not_provided() -> Any:
    from django.db.models.fields import NOT_PROVIDED

    return NOT_PROVIDED


def has_db_default(field: Any) -> bool:
    """A database-level default that is not NULL (``db_default=None`` gives no value)."""
    value = getattr(field, "db_default", not_provided())
    if value is not_provided() or value is None:
        return False
    return getattr(value, "value", object()) is not None


def has_code_default(field: Any) -> bool:
    return getattr(field, "default", not_provided()) is not not_provided()


def callable_qualname(value: Any) -> str:
    module = getattr(value, "__module__", "") or ""
    name = getattr(value, "__qualname__", None) or repr(value)
    return f"{module}.{name}" if module and module != "builtins" else name


def default_sql(field: Any) -> str | None:
    """The field's code default as an SQL expression, when there is an obvious one."""
    default = getattr(field, "default", not_provided())
    if default is not_provided():
        return None
    if callable(default):
        return SQL_FOR_CALLABLE.get(callable_qualname(default))
    if default is None:
        return "NULL"
    if isinstance(default, bool | int | float | str):
        from schemaops.driver import quote_literal

        return quote_literal(default)
    return None


def changes_database(old: Any, new: Any) -> bool:
    """Would Django's schema editor touch the database to go from ``old`` to ``new``?

    Mirrors ``BaseDatabaseSchemaEditor._field_should_be_altered`` without a
    bound model: attributes in ``non_db_attrs`` (choices, help_text...) do not count.
    """
    if old is None or new is None:
        return True
    _, old_path, old_args, old_kwargs = old.deconstruct()
    _, new_path, new_args, new_kwargs = new.deconstruct()
    for attr in set(old.non_db_attrs) - {"db_column"}:
        old_kwargs.pop(attr, None)
    for attr in set(new.non_db_attrs) - {"db_column"}:
        new_kwargs.pop(attr, None)
    return (old_path, old_args, old_kwargs) != (new_path, new_args, new_kwargs)


def is_not_null_check(constraint: Any, field_name: str) -> bool:
    """A Django ``CheckConstraint(condition=Q(<field>__isnull=False))``."""
    condition = getattr(constraint, "condition", None) or getattr(constraint, "check", None)
    children = getattr(condition, "children", None)
    if not children or getattr(condition, "negated", False) or len(children) != 1:
        return False
    return children[0] in ((f"{field_name}__isnull", False),)


# -- SQL seen so far ----------------------------------------------------------------


def render(node: Any) -> str:
    return str(RawStream()(node))


def sql_validated_not_null_checks(mctx: MigrationContext, table: str) -> set[str]:
    """Columns of ``table`` with a validated ``CHECK (col IS NOT NULL)`` added so far."""
    added: dict[str, str] = {}  # constraint name -> column
    validated: set[str] = set()
    for stmt in mctx.statements:
        for tbl, cmd in alter_commands(stmt.node):
            if tbl != table:
                continue
            if cmd.subtype == AT.AT_AddConstraint:
                column = _not_null_check_column(cmd.def_)
                if column is not None:
                    added[str(cmd.def_.conname or column)] = column
                    if not cmd.def_.skip_validation:
                        validated.add(column)
            elif cmd.subtype == AT.AT_ValidateConstraint and cmd.name in added:
                validated.add(added[str(cmd.name)])
    return validated


def _not_null_check_column(constraint: Any) -> str | None:
    if not isinstance(constraint, ast.Constraint) or constraint.contype != CONSTR.CONSTR_CHECK:
        return None
    expr = constraint.raw_expr
    if not isinstance(expr, ast.NullTest) or expr.nulltesttype != enums.NullTestType.IS_NOT_NULL:
        return None
    if not isinstance(expr.arg, ast.ColumnRef):
        return None
    parts = names(expr.arg.fields)
    return parts[-1] if parts else None


def model_for_table(state: Any, table: str) -> Any | None:
    """The ModelState whose table is ``table``, from the project state."""
    from schemaops.plan import db_table_for

    for model in state.models.values():
        if db_table_for(model.app_label, model.name, model.options) == table:
            return model
    return None


def model_at(ctx: OperationContext, table: str) -> Any | None:
    """The model of ``table`` as SQL in ``ctx`` finds it: ModelSnapshot or ModelState.

    Inside a ``SeparateDatabaseAndState`` that is the model before its state
    operations ran; elsewhere the state after the migration (the walk keeps
    no other).
    """
    parent = ctx.step.parent
    while parent is not None:
        for snapshot in parent.state_models.values():
            if snapshot.db_table == table:
                return snapshot
        parent = parent.parent
    return model_for_table(ctx.migration.state, table)


def dml_target(node: Any) -> str | None:
    """The table an UPDATE, DELETE or INSERT writes to."""
    if isinstance(node, ast.UpdateStmt | ast.DeleteStmt | ast.InsertStmt):
        return relname(node.relation)
    return None


# -- RunPython functions: schemaops.pycode (re-exported above) --------------------


# -- recipes (legacy) ---------------------------------------------------------------
# Still imported by rules that build their own recipes (SO107, the rename rules,
# state-only removal, truncate); the remedy planner (schemaops.remedy) replaces
# them. Delete each helper with its last importer; add nothing here.


def backfill_command(app_label: str, model: str, assignment: str, where: str | None) -> str:
    cmd = f'schemaops backfill start {app_label}.{model} --set "{assignment}"'
    return cmd + (f' --where "{where}"' if where else "")


def check_name(table: str, column: str) -> str:
    from django.db.backends.utils import truncate_name

    return str(truncate_name(f"{table}_{column}_not_null", 63))


def check_constraint_code(field_name: str, name: str) -> str:
    """Django code of ``CheckConstraint(<field> IS NOT NULL)`` for this Django version."""
    import django

    kwarg = "condition" if django.VERSION >= (5, 1) else "check"
    return f"models.CheckConstraint({kwarg}=models.Q({field_name}__isnull=False), name={name!r})"


def not_null_steps(
    ctx: OperationContext,
    model: str,
    name: str,
    column: str,
    field: Any,
    *,
    after: str | None,
    phase: str | None = "post",
) -> str:
    """NOT NULL without a long ACCESS EXCLUSIVE: CHECK NOT VALID, VALIDATE, SET NOT NULL.

    ``field`` is the field as it should end up (null=False). The CHECK goes
    into the migration state too, so the final SET NOT NULL is recognised as
    safe. Below PostgreSQL 12 SET NOT NULL scans the table whatever
    constraints exist, so there the validated CHECK stays the enforcement and
    the field changes in the state only.
    """
    t, c = ident(ctx.table), ident(column)
    check = check_name(ctx.table, column)
    k, prefix = ident(check), f"{model}_{name}"
    add_sql = f"ALTER TABLE {t} ADD CONSTRAINT {k} CHECK ({c} IS NOT NULL) NOT VALID"
    drop_sql = f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {k}"
    add_ops = _separate(
        [f'migrations.AddConstraint("{model}", {check_constraint_code(name, check)})'],
        [f"migrations.RunSQL({add_sql!r}, reverse_sql={drop_sql!r})"],
    )
    validate_sql = f"ALTER TABLE {t} VALIDATE CONSTRAINT {k}"
    validate_ops = [f"migrations.RunSQL({validate_sql!r}, reverse_sql=migrations.RunSQL.noop),"]
    note, finish_ops = _set_not_null_ops(ctx, model, name, field, t, c, check)
    chain = [
        ("# a. CHECK ... NOT VALID: a brief ACCESS EXCLUSIVE, no scan:", add_ops, "not_null_check"),
        (
            "# b. VALIDATE scans under SHARE UPDATE EXCLUSIVE: reads and writes go on:",
            validate_ops,
            "validate",
        ),
        (note, finish_ops, "set_not_null"),
    ]
    parts, previous = [], after
    for comment, ops, suffix in chain:
        code = migration_code(
            ctx,
            ops,
            name=f"{prefix}_{suffix}",
            phase=phase,
            after=previous,
            imports=imports_for(field),
        )
        parts += [comment, code]
        previous = f"{prefix}_{suffix}"
    return join_steps(*parts)


def _set_not_null_ops(
    ctx: OperationContext, model: str, name: str, field: Any, t: str, c: str, check: str
) -> tuple[str, list[str]]:
    """The last step: state AlterField, and SET NOT NULL where it skips the scan."""
    state_ops = [f'migrations.AlterField("{model}", "{name}", {with_kwargs(field, null=False)})']
    if ctx.migration.target.pg_version < 12:
        note = "# c. PostgreSQL < 12 scans on SET NOT NULL anyway: the CHECK stays the guard:"
        return note, _separate(state_ops, [])
    k = ident(check)
    state_ops.append(f'migrations.RemoveConstraint("{model}", {check!r})')
    sql = f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL; ALTER TABLE {t} DROP CONSTRAINT {k}"
    reverse = f"ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL"
    db_ops = [f"migrations.RunSQL({sql!r}, reverse_sql={reverse!r})"]
    note = "# c. SET NOT NULL finds the validated CHECK and skips the scan (PostgreSQL 12+):"
    return note, _separate(state_ops, db_ops)


def _separate(state_ops: list[str], db_ops: list[str]) -> list[str]:
    """Lines of a ``SeparateDatabaseAndState`` operation."""
    return [
        "migrations.SeparateDatabaseAndState(",
        "    state_operations=[",
        *[f"        {op}," for op in state_ops],
        "    ],",
        "    database_operations=[",
        *[f"        {op}," for op in db_ops],
        "    ],",
        "),",
    ]


def imports_for(*fields: Any) -> str:
    """The import lines a recipe needs for these fields (callable defaults' modules)."""
    lines = ["from django.db import migrations, models"]
    for field in fields:
        default = getattr(field, "default", None)
        module = getattr(default, "__module__", None)
        if callable(default) and module and module != "builtins":
            lines.insert(0, f"import {module}")
    return "\n".join(dict.fromkeys(lines))


def expand_backfill_contract(ctx: OperationContext, op: Any, column: str) -> str:
    """Nullable column, ``schemaops backfill``, then NOT NULL post-deploy, safely.

    A unique field is added without its unique index (a plain build would
    block writes, and the rows are not unique until the backfill ran).
    """
    model, name, field = op.model_name, op.name, op.field
    changes: dict[str, Any] = {"null": True}
    if field.unique:
        changes["unique"] = False
    add = f'migrations.AddField("{model}", "{name}", {with_kwargs(field, **changes)})'
    if callable(getattr(field, "default", None)) and has_code_default(field):
        # Django would call the default once and give that value to every existing row:
        # the model keeps it, the database column gets none.
        db_add = f'migrations.AddField("{model}", "{name}", '
        db_add += f"{with_kwargs(field, **changes, default=None)})"
        operations = _separate([add], [db_add])
    else:
        operations = [add + ","]
    expand = migration_code(ctx, operations, name=f"{model}_{name}", imports=imports_for(field))
    value = default_sql(field) or "<SQL expression>"
    app_model = ctx.after.name if ctx.after else model
    backfill = backfill_command(ctx.app_label, app_model, f"{name} = {value}", f"{column} IS NULL")
    steps = [
        f"# 1. pre-deploy: add {name} nullable; new rows get their value from the code:",
        expand,
        "# 2. once the new code is live, fill the existing rows in small batches:",
        f"#    {backfill}",
    ]
    if not field.null:
        steps += [
            "# 3. post-deploy, NOT NULL without a long lock:",
            not_null_steps(ctx, model, name, column, field, after=f"{model}_{name}"),
        ]
    if field.unique:
        steps.append(
            f"# finally: CREATE UNIQUE INDEX CONCURRENTLY on {ctx.table} ({column}) in an "
            "atomic = False migration, then unique=True in the state."
        )
    return join_steps(*steps)


def migration_after_this(
    ctx: OperationContext | MigrationContext, operations: list[str], *, name: str, phase: str
) -> str:
    """A migration module that depends on the migration under check itself."""
    mig = ctx.migration if isinstance(ctx, OperationContext) else ctx
    code = migration_code(ctx, operations, name=name, phase=phase, after="__this__")
    return code.replace('"XXXX___this__"', f'"{mig.name}"')


# -- RunSQL -------------------------------------------------------------------------


def runsql_texts(sql: Any) -> list[str]:
    """The SQL strings of a RunSQL ``sql``/``reverse_sql``: a string, or a list of
    strings and ``(sql, params)`` pairs (their parameters quoted in)."""
    from schemaops.statements import runsql_texts

    return list(runsql_texts(sql))


def parsed_statements(sql: Any) -> list[Any] | None:
    """pglast nodes of a RunSQL's SQL; None when any part does not parse."""
    from schemaops.statements import SQLSyntaxError, parse

    nodes: list[Any] = []
    for text in runsql_texts(sql):
        try:
            nodes.extend(stmt.node for stmt in parse(text))
        except SQLSyntaxError:
            return None
    return nodes


def operation_code(op: Any) -> tuple[str, set[str]]:
    """Django's own serialization of an operation (as makemigrations writes it)."""
    from django.db.migrations.writer import OperationWriter

    text, imports = OperationWriter(op, indentation=0).serialize()
    text, kept = str(text), set()
    for line in imports:
        module = line.removeprefix("import ")
        if line.startswith("import ") and not all(p.isidentifier() for p in module.split(".")):
            # a class defined in a migration module, which cannot be imported
            text = text.replace(f"{module}.", "")
            kept.add(f"# copy the classes of {module} this file uses into it")
        else:
            kept.add(line)
    return text, kept


def imported_models(func: Any) -> list[tuple[str, Any]]:
    """(name as written, model class) for real model classes the function uses.

    Reads the code objects' global names (and ``module.Model`` attribute
    names) against the function's globals: a historical model from
    ``apps.get_model`` is a local, so only direct imports show up here.
    """
    from django.db import models

    func = unwrap(func)
    namespace = getattr(func, "__globals__", {})
    used = global_names(func)
    found: list[tuple[str, Any]] = []
    for name in sorted(used):
        value = namespace.get(name)
        if isinstance(value, type) and issubclass(value, models.Model):
            found.append((name, value))
        elif isinstance(value, types.ModuleType):
            for attr in sorted(used):
                inner = getattr(value, attr, None)
                if isinstance(inner, type) and issubclass(inner, models.Model):
                    found.append((f"{name}.{attr}", inner))
    return [(n, m) for n, m in found if hasattr(m, "_meta") and not m._meta.abstract]


def batched_delete(ctx: OperationContext | MigrationContext, table: str, where: str) -> str:
    """A non-atomic migration deleting ``WHERE <where>`` 1000 rows per transaction."""
    mig = ctx.migration if isinstance(ctx, OperationContext) else ctx
    sub = f"SELECT ctid FROM {ident(table)} WHERE {where} LIMIT 1000"
    sql = f"DELETE FROM {ident(table)} WHERE ctid IN ({sub})"
    deps = ", ".join(f'("{a}", "{n}")' for a, n in mig.dependencies)
    return "\n".join(
        [
            f"# {mig.app_label}/migrations/XXXX_delete_{table}_in_batches.py",
            "from django.db import migrations",
            "",
            "",
            "def delete_in_batches(apps, schema_editor):",
            "    with schema_editor.connection.cursor() as cursor:",
            "        while True:  # each statement commits on its own: short row locks",
            f"            cursor.execute({sql!r})",
            "            if cursor.rowcount == 0:",
            "                break",
            "",
            "",
            "class Migration(migrations.Migration):",
            "    atomic = False",
            f"    dependencies = [{deps}]",
            "    operations = [",
            "        migrations.RunPython(",
            "            delete_in_batches, migrations.RunPython.noop, atomic=False",
            "        ),",
            "    ]",
        ]
    )


def renamed_existing_table(ctx: Any, object_type: Any) -> str | None:
    """The table of a ``RenameStmt`` of ``object_type`` on a table that existed before."""
    node = ctx.node
    if node.renameType != object_type or node.relation is None:
        return None
    table = str(node.relation.relname)
    return None if ctx.is_new_table(table) else table
