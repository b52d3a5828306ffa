"""Helpers shared by the additive-only (SO1xx) and data-migration (SO3xx) rules.

Facts about fields (defaults, whether a change reaches the database), about
SQL statements already seen in a migration, about RunPython functions (read
from their code objects, never from their source text: which models they
fetch, what they call). Facts only: no code is written here. A rule's remedy
comes from the planner (:mod:`schemaops.remedy`, written by its
``writer``) or, where no code is right, is said in words.
"""

from __future__ import annotations

import types
from typing import Any

from pglast import ast

from schemaops.dbfacts import not_null_check_column
from schemaops.pycode import (  # noqa: F401 (re-exported: the rules import them from here)
    code_objects,
    global_names,
    has_loop,
    models_touched,
    string_constants,
    unwrap,
)
from schemaops.rules import MigrationContext, OperationContext
from schemaops.statements import AT, alter_commands, deparse, relname

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
    return deparse(node)


def sql_validated_not_null_checks(mctx: MigrationContext, table: str) -> set[str]:
    """Columns of ``table`` with a validated ``CHECK (col IS NOT NULL)`` added so far."""
    added: dict[str, str] = {}  # constraint name -> column
    validated: set[str] = set()
    for stmt in mctx.statements:
        for tbl, cmd in alter_commands(stmt.node):
            if tbl != table:
                continue
            if cmd.subtype == AT.AT_AddConstraint:
                column = not_null_check_column(cmd.def_)
                if column is not None:
                    added[str(cmd.def_.conname or column)] = column
                    if not cmd.def_.skip_validation:
                        validated.add(column)
            elif cmd.subtype == AT.AT_ValidateConstraint and cmd.name in added:
                validated.add(added[str(cmd.name)])
    return validated


def not_null_proven(
    ctx: OperationContext, column: str, field_name: str | None, table: str | None = None
) -> bool:
    """Can PostgreSQL 12+ prove ``column`` NOT NULL from a validated CHECK, without a scan?

    A ``CHECK (col IS NOT NULL)`` validated by SQL in this migration or an earlier one, or
    among the model's constraints (``field_name``: the AlterField's field; None: the
    model of ``table`` as SQL in ``ctx`` finds it).
    """
    from schemaops.plan import column_for

    if ctx.migration.target.pg_version < 12:
        return False
    table = table or ctx.table
    if column in sql_validated_not_null_checks(ctx.migration, table):
        return True
    if column in ctx.migration.facts.validated_not_null(table):
        return True  # validated by RunSQL in an earlier migration
    if field_name is not None and ctx.before is not None:
        constraints = ctx.before.constraints
    else:
        model = model_at(ctx, table)
        if model is None:
            return False
        constraints = model.options.get("constraints", [])
        field_name = next((n for n, f in model.fields.items() if column_for(n, f) == column), None)
    return field_name is not None and any(is_not_null_check(c, field_name) for c in constraints)


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


def renamed_existing_table(ctx: Any, *object_types: Any) -> str | None:
    """The relation of a ``RenameStmt`` of one of ``object_types`` that existed before."""
    node = ctx.node
    if node.renameType not in object_types or node.relation is None:
        return None
    table = str(node.relation.relname)
    return None if ctx.is_new_table(table) else table
