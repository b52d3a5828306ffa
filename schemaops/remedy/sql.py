"""Planner entries that do not start from one of Django's schema operations.

- :func:`plan_runsql`: a ``RunSQL`` whose statements lock (``CREATE INDEX``
  without ``CONCURRENTLY``, a validated ``FOREIGN KEY`` / ``CHECK``, ``ADD
  CONSTRAINT ... UNIQUE``, ``SET NOT NULL``) becomes the same statements
  rewritten by :mod:`schemaops.remedy.transform`, exactly as Django's own
  statements are for its operations: CONCURRENTLY in an ``atomic = False``
  migration, NOT VALID then VALIDATE in the next one. A ``RunSQL`` has no
  state, so none is kept.
- :func:`plan_new_index`: "add an index concurrently for model M, fields F"
  (what the missing-index rules SO501-SO503 ask for): ``AddIndex`` in the
  state and ``CREATE INDEX CONCURRENTLY`` in the database, in a new
  non-atomic migration after the app's latest; the ``Meta.indexes`` line
  models.py needs is one of the remedy's instructions.
- :func:`plan_sql_index`: the same for a table no model describes (a
  foreign key added in ``RunSQL``): a ``RunSQL`` building it concurrently.

:func:`new_migration_text` renders such a remedy as the one new file it is,
with Django's migration writer.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from pglast import ast, enums

from schemaops.remedy.transform import rewrite
from schemaops.statements import ident, parse, runsql_texts

if TYPE_CHECKING:
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import PlanContext, Remedy


def plan_runsql(op: Any, context: PlanContext | None = None) -> Remedy | None:
    """The non-blocking rewrite of a ``RunSQL``'s statements (None: nothing locks);
    ``context``: the operation's (its ``new_tables``; None: nothing known)."""
    from django.db import migrations

    from schemaops.remedy.planner import _SUMMARIES, MigrationSpec, Remedy

    if op.sql == migrations.RunSQL.noop:
        return None
    try:
        forwards = list(runsql_texts(op.sql))
        if not all(_index_or_constraint(s.node) for text in forwards for s in parse(text)):
            return None  # other work (a DROP, a rewrite) needs more than new lock modes
        done = rewrite(forwards, set(context.new_tables if context is not None else ()))
    except Exception:  # unparsable or parameterised SQL: SO901 / the rules say so
        return None
    if not done.techniques or done.contract:
        return None
    reverse: Any = op.reverse_sql
    if reverse is not None and reverse != migrations.RunSQL.noop:
        reverse = [*done.undo_before, *runsql_texts(reverse), *done.undo_after]
    elif reverse is not None and (done.undo_before or done.undo_after):
        reverse = [*done.undo_before, *done.undo_after]
    expand: list[Any] = list(done.expand)
    steps = [
        MigrationSpec(
            "expand", [migrations.RunSQL(expand, reverse_sql=reverse)], not done.concurrent
        )
    ]
    if done.validate:
        back = migrations.RunSQL.noop if reverse is not None else None
        validate: list[Any] = list(done.validate)
        steps.append(MigrationSpec("validate", [migrations.RunSQL(validate, back)]))
    summary = "; ".join(_SUMMARIES[t] for t in done.techniques)
    return Remedy("+".join(done.techniques), summary, steps)


_CONSTRAINT_WORK = (
    enums.AlterTableType.AT_AddConstraint,
    enums.AlterTableType.AT_ValidateConstraint,
    enums.AlterTableType.AT_DropConstraint,
    enums.AlterTableType.AT_SetNotNull,
)


def _index_or_constraint(node: Any) -> bool:
    """Statements whose only hazard is the lock they take: what the rewrite fixes whole.

    A ``RunSQL`` that also drops, retypes or fills something keeps its rules' advice.
    """
    if isinstance(node, ast.IndexStmt):
        return bool(node.idxname)  # IF NOT EXISTS (for a retried build) needs the name
    if isinstance(node, ast.DropStmt):
        return node.removeType == enums.ObjectType.OBJECT_INDEX
    if isinstance(node, ast.AlterTableStmt):
        return all(
            cmd.subtype in _CONSTRAINT_WORK
            # VALIDATE CONSTRAINT needs the name PostgreSQL would only make up
            and (cmd.subtype != enums.AlterTableType.AT_AddConstraint or cmd.def_.conname)
            for cmd in node.cmds or ()
        )
    return False


def index_name(model_name: str, field: str, suffix: str = "idx") -> str:
    """A Django-valid index name (at most 30 characters) from the user's names."""
    name = f"{model_name.lower()}_{field}_{suffix}"
    if len(name) <= 30:
        return name
    digest = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:5]
    return f"{model_name.lower()[:9]}_{field[:9]}_{digest}_{suffix}"


def plan_new_index(
    state: ProjectState, app_label: str, model_name: str, fields: list[str]
) -> Remedy | None:
    """An index on ``fields`` of the model, built concurrently (None: not plannable)."""
    from django.db import migrations, models

    from schemaops.remedy.planner import plan_operation

    plain = [f.lstrip("-") for f in fields]
    name = index_name(model_name, "_".join(plain)[:20])
    index = models.Index(fields=list(fields), name=name)
    remedy = plan_operation(migrations.AddIndex(model_name.lower(), index), app_label, state)
    if remedy is None:
        return None
    remedy.summary = f"add an index on {', '.join(plain)} of {model_name}: {remedy.summary}"
    remedy.instructions.append(
        f"models.py: add models.Index(fields={list(fields)!r}, name={name!r}) to class "
        f"{model_name}'s Meta.indexes"
    )
    return remedy


def plan_sql_index(table: str, column: str) -> Remedy | None:
    """An index leading with ``table.column`` (a table no model has), built concurrently."""
    from django.db import migrations

    name = ident(f"{table}_{column}_idx"[:63])
    build = migrations.RunSQL(
        f"CREATE INDEX {name} ON {ident(table)} ({ident(column)})",
        reverse_sql=f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
    )
    return plan_runsql(build)


def new_index_recipe(fctx: Any, model: Any, fields: list[str]) -> str:
    """The recipe of a missing-index rule (SO501-SO503): a new migration after the app's
    latest that builds the index concurrently, and the Meta.indexes line for models.py."""
    plain = "_".join(f.lstrip("-") for f in fields)
    try:
        remedy = plan_new_index(fctx.state, model.app_label, model.name, list(fields))
    except Exception:  # a state Django cannot render: say what to do instead
        remedy = None
    if remedy is None:
        index = f"models.Index(fields={list(fields)!r})"
        return f"Add {index} to {model.name}.Meta.indexes, built CONCURRENTLY"
    leaf = fctx.leaf(model.app_label)
    return new_migration_text(remedy, model.app_label, leaf, index_name(model.name, plain[:20]))


def new_migration_text(remedy: Remedy, app_label: str, leaf: str | None, name: str) -> str:
    """The remedy as one new migration file after ``leaf``, ready to paste."""
    from schemaops.remedy.writer import migration_module

    lines = [f"# {remedy.summary}", *(f"# {line}" for line in remedy.instructions)]
    deps: list[Any] = [(app_label, leaf)] if leaf else []
    for n, spec in enumerate(remedy.steps, start=1):
        file_name = f"XXXX_{name}" if n == 1 else f"XXXX_{name}_{n}"
        lines.append(f"# --- {app_label}/migrations/{file_name}.py")
        code = migration_module(
            app_label, file_name, spec.operations, deps, atomic=spec.atomic, post=spec.post
        )
        lines.extend(code.rstrip().splitlines())
        deps = [(app_label, file_name)]
    return "\n".join(lines)


def statement_recipe(sql: str) -> str | None:
    """What to run instead of one locking statement of a ``RunSQL``: the planner's
    operations, one migration each, as a rule's recipe (None: nothing to rewrite)."""
    from django.db import migrations

    remedy = plan_runsql(migrations.RunSQL(sql, reverse_sql=migrations.RunSQL.noop))
    return None if remedy is None else render_steps(remedy)


def render_steps(remedy: Remedy) -> str:
    """A remedy's operations, one migration each, as text to paste (no dependencies known)."""
    from django.db.migrations.writer import MigrationWriter

    lines = [f"# {remedy.summary}", *(f"# {line}" for line in remedy.instructions)]
    for n, spec in enumerate(remedy.steps):
        where = "in a migration with atomic = False" if not spec.atomic else "in a migration"
        lines.append(f"# {'then, in the next migration' if n else 'instead'} ({where}):")
        for op in spec.operations:
            lines.extend((MigrationWriter.serialize(op)[0] + ",").splitlines())
    return "\n".join(lines)


def fix_hint(app_label: str, migration: str, what: str) -> str:
    """A rule's recipe for a Django operation: the planner's plan is what `check` shows and
    `schemaops fix` writes (a rule shows this only past check's planning limit)."""
    return f"{what}: `schemaops fix {app_label} {migration}` writes the migrations (docs/fix.md)"
