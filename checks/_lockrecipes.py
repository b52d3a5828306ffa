"""Recipe building blocks for the lock rules: Django code from objects, SQL from pglast ASTs.

Kept until these stop importing it (their recipes move to the remedy planner,
``schemaops.remedy``, which already writes the remedy of every other rule):
add_check_constraint_validated, add_column_volatile_default,
add_foreign_key_validated, add_index_non_concurrently, add_unique_constraint,
remove_index_non_concurrently, slow_step_after_access_exclusive (engineers
``rename``/``fill``), alter_column_type, alter_column_type_with_check
(``retype``), identifier_too_long, ``_lockmap_sql`` (``django_name``: index
naming, an analysis helper that belongs in the core) and
tests/checks/test_recipe_imports.py (``Code``). Nothing new should use it.

Recipes are paste-ready: Python literals are written with ``repr`` (SQL with
quotes survives), identifiers with PostgreSQL's quoting rules, and SQL the
user wrote is re-printed by pglast after changing the AST (adding
``CONCURRENTLY``, ``NOT VALID``), never by editing text.
"""

from __future__ import annotations

import copy
from typing import Any

from pglast.stream import RawStream

from schemaops.statements import ident

POSTGRES_IMPORTS = (
    "from django.contrib.postgres.operations import {names}\n"
    "from django.db import migrations, models"
)

NOT_VALID_IMPORTS = (
    "from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint"
)


def deparse(node: Any) -> str:
    return str(RawStream()(node))


def variant(node: Any, **changes: Any) -> str:
    """The statement re-printed with some AST attributes changed."""
    clone = copy.deepcopy(node)
    for key, value in changes.items():
        setattr(clone, key, value)
    return deparse(clone)


def run_sql(sql: str, reverse: str | None = None) -> str:
    """Code of a ``migrations.RunSQL`` operation (``reverse=None``: a no-op reverse)."""
    back = repr(reverse) if reverse else "migrations.RunSQL.noop"
    return f"migrations.RunSQL(\n    {sql!r},\n    reverse_sql={back},\n),"


def validate_sql(table: str, constraint: str) -> str:
    """Code of the RunSQL that validates a NOT VALID constraint (SHARE UPDATE EXCLUSIVE)."""
    return run_sql(f"ALTER TABLE {ident(table)} VALIDATE CONSTRAINT {ident(constraint)}")


def separate(state_ops: list[str], db_ops: list[str]) -> str:
    """Code of a ``SeparateDatabaseAndState`` operation."""
    lines = ["migrations.SeparateDatabaseAndState(", "    state_operations=["]
    lines += ["        " + line for op in state_ops for line in op.splitlines()]
    lines += ["    ],", "    database_operations=["]
    lines += ["        " + line for op in db_ops for line in op.splitlines()]
    lines += ["    ],", "),"]
    return "\n".join(lines)


class Code:
    """Renders Django objects as Python code and collects the imports that code needs."""

    def __init__(self) -> None:
        self.imports: set[str] = set()

    def header(self, *extra: str) -> str:
        """The import block of a migration module using this code."""
        lines = {"from django.db import migrations, models", *self.imports, *extra}
        return "\n".join(sorted(lines, key=lambda line: (not line.startswith("from django"), line)))

    def field(self, field: Any, **changes: Any) -> str:
        """A field's code with some keyword arguments changed (None removes one)."""
        _, path, args, kwargs = field.clone().deconstruct()
        for key, value in changes.items():
            if value is None:
                kwargs.pop(key, None)
            else:
                kwargs[key] = value
        return self._call(path, args, kwargs)

    def op(self, op: Any) -> str:
        """A migration operation's code, from its ``deconstruct()``."""
        from django.db import migrations

        name, args, kwargs = op.deconstruct()
        if hasattr(migrations, name):
            return self._call(f"django.db.migrations.{name}", args, kwargs) + ","
        return self._call(f"{type(op).__module__}.{name}", args, kwargs) + ","

    def value(self, value: Any) -> str:
        from django.db.models import Field

        if isinstance(value, Field):
            return self.field(value)
        if isinstance(value, list | tuple | set | frozenset):
            items = [self.value(v) for v in value]
            if isinstance(value, list):
                return f"[{', '.join(items)}]"
            if isinstance(value, tuple):
                return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
            return "{" + ", ".join(sorted(items)) + "}" if items else "set()"
        if isinstance(value, dict):
            return (
                "{" + ", ".join(f"{self.value(k)}: {self.value(v)}" for k, v in value.items()) + "}"
            )
        if hasattr(value, "deconstruct") and not isinstance(value, type):
            path, args, kwargs = value.deconstruct()[-3:]
            return self._call(str(path), args, kwargs)
        if callable(value) and hasattr(value, "__qualname__") and hasattr(value, "__module__"):
            if not importable(value.__module__):  # a RunPython function of a migration module
                self.imports.add(f"# {value.__qualname__}: copy it from {value.__module__}")
                return str(value.__qualname__)
            self.imports.add(f"import {value.__module__}")
            return f"{value.__module__}.{value.__qualname__}"
        if type(value).__name__ == "SettingsReference":
            self.imports.add("from django.conf import settings")
            return f"settings.{value.setting_name}"
        return repr(value)

    def _call(self, path: str, args: Any, kwargs: dict[str, Any]) -> str:
        module, _, cls = path.rpartition(".")
        if module in ("django.db.models", "django.db.migrations"):
            name = f"{module.rsplit('.', 1)[-1]}.{cls}"
        elif importable(module):
            self.imports.add(f"from {module} import {cls}")
            name = cls
        else:  # a class defined in a migration module, which cannot be imported
            self.imports.add(f"# {cls}: copy it from {module}")
            name = cls
        parts = [self.value(a) for a in args] + [f"{k}={self.value(v)}" for k, v in kwargs.items()]
        return f"{name}({', '.join(parts)})"


def importable(module: str) -> bool:
    """False for a migration module (``0002_auto``): Python cannot import it by name."""
    return all(part.isidentifier() for part in module.split("."))


def op_code(op: Any) -> str:
    """Code of a migration operation (imports beyond migrations/models are dropped)."""
    return Code().op(op)


def columns_of(snapshot: Any, fields: Any) -> list[str]:
    """Column names of model fields given by name."""
    from schemaops.plan import column_for

    return [column_for(name, snapshot.fields[name]) for name in fields if name in snapshot.fields]


def django_name(table: str, columns: list[str], suffix: str) -> str:
    """The name Django's schema editor gives an index or constraint (offline)."""
    from schemaops.plan import offline_connection

    editor = offline_connection(150000).schema_editor(collect_sql=True, atomic=False)
    return str(editor._create_index_name(table, columns, suffix=suffix))


def column_list(columns: list[str]) -> str:
    return ", ".join(ident(c) for c in columns)


def unique_index_steps(table: str, name: str, columns: list[str]) -> list[str]:
    """RunSQL operations: build a unique index concurrently, then attach it as a constraint."""
    return [
        run_sql(
            f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {ident(name)} "
            f"ON {ident(table)} ({column_list(columns)})",
            f"DROP INDEX CONCURRENTLY IF EXISTS {ident(name)}",
        ),
        run_sql(
            f"ALTER TABLE {ident(table)} ADD CONSTRAINT {ident(name)} UNIQUE USING INDEX "
            f"{ident(name)}",
            f"ALTER TABLE {ident(table)} DROP CONSTRAINT IF EXISTS {ident(name)}",
        ),
    ]


def render_model(ctx: Any, snapshot: Any) -> Any:
    """A model class for ``snapshot`` (and the models it references), rendered offline.

    Only for building recipes: it renders a small private state, never the
    walk's own, so the rest of the walk stays cheap. None when it cannot.
    """
    from django.db.migrations.state import ModelState, ProjectState

    state = ctx.migration.state
    model_state = ModelState(
        snapshot.app_label,
        snapshot.name,
        [(n, f.clone()) for n, f in snapshot.fields.items()],
        dict(snapshot.options),
        snapshot.bases,
    )
    key = (snapshot.app_label, snapshot.name.lower())
    others = _referenced(state, model_state) - {key}
    models = {k: state.models[k].clone() for k in others}
    models[key] = model_state
    try:
        apps = ProjectState(models=models, real_apps=set(state.real_apps)).apps
        return apps.get_model(snapshot.app_label, snapshot.name)
    except Exception:
        return None


def django_statements(ctx: Any, build: Any) -> list[Any]:
    """pglast nodes of the SQL ``build(model, editor)`` returns for ``ctx.after``."""
    from schemaops.plan import offline_connection
    from schemaops.statements import SQLSyntaxError, parse

    model = render_model(ctx, ctx.after) if ctx.after is not None else None
    if model is None:
        return []
    editor = offline_connection(ctx.migration.target.pg_version * 10000).schema_editor(
        collect_sql=True, atomic=False
    )
    try:
        return [s.node for s in parse(str(build(model, editor)))]
    except (SQLSyntaxError, Exception):
        return []


def _referenced(state: Any, root: Any) -> set[tuple[str, str]]:
    """Keys of the models ``root`` needs to render: relation targets, transitively."""
    from django.db.migrations.utils import resolve_relation

    seen: set[tuple[str, str]] = set()
    todo = [root]
    while todo:
        model = todo.pop()
        for field in model.fields.values():
            remote = getattr(field, "remote_field", None)
            for target in (getattr(remote, "model", None), getattr(remote, "through", None)):
                if target is None:
                    continue
                key = resolve_relation(target, model.app_label, model.name_lower)
                if key not in seen and key in state.models:
                    seen.add(key)
                    todo.append(state.models[key])
    return seen
