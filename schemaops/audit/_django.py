"""What the audit knows from the Django project: which model owns a table, and fixes as code.

With a project loaded, every index finding names the model and field, and its
fix is a migration to paste (``AddIndexConcurrently``, ``RemoveIndexConcurrently``,
``SeparateDatabaseAndState``) instead of bare DDL that ``makemigrations``
cannot see. Without one, fixes are SQL.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from schemaops.audit._catalog import Index
from schemaops.findings import Severity
from schemaops.remedy.code import field_code, with_kwargs
from schemaops.statements import ident


@dataclass
class Models:
    """The project's concrete, managed models routed to one database alias, by table."""

    alias: str
    by_table: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, alias: str = "default") -> Models:
        from django.apps import apps
        from django.db import router

        found = cls(alias)
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed or meta.swapped:
                continue
            if not router.allow_migrate_model(alias, model):
                continue
            found.by_table[meta.db_table] = model
        return found

    @property
    def connection(self) -> Any:
        from django.db import connections

        return connections[self.alias]

    def model(self, table: str) -> Any:
        return self.by_table.get(table)

    def field(self, table: str, column: str | None) -> Any:
        model = self.model(table)
        if model is None or column is None:
            return None
        for candidate in model._meta.local_concrete_fields:
            if candidate.column == column:
                return candidate
        return None

    def label(self, table: str, columns: list[str | None] | None = None) -> str:
        """``orders.OrderLine.product`` or ``orders.OrderLine`` or the table name."""
        model = self.model(table)
        if model is None:
            return table
        base = f"{model._meta.app_label}.{model.__name__}"
        fields = [self.field(table, c) for c in columns or []]
        if fields and all(fields):
            return base + "." + ",".join(f.name for f in fields)
        return base

    @cached_property
    def _leaves(self) -> dict[str, str]:
        from django.db.migrations.loader import MigrationLoader

        try:
            graph = MigrationLoader(None, ignore_no_migrations=True).graph
        except Exception:  # a broken graph must not stop an audit
            return {}
        return {app: name for app, name in graph.leaf_nodes()}

    @cached_property
    def _own_apps(self) -> set[str]:
        from schemaops.selection import project_apps

        return set(project_apps())

    def is_library(self, table: str) -> bool:
        """True when a library app (Django's auth, a package) owns the table's model."""
        model = self.model(table)
        return model is not None and model._meta.app_label not in self._own_apps

    def latest_migration(self, app_label: str) -> str:
        return self._leaves.get(app_label, "XXXX_previous")

    # -- what an index is to Django -----------------------------------------

    def meta_index(self, index: Index) -> Any:
        """The ``Meta.indexes`` entry that created this index, by name."""
        model = self.model(index.table)
        if model is None:
            return None
        return next((i for i in model._meta.indexes if i.name == index.index), None)

    def db_index_field(self, index: Index) -> Any:
        """The field whose ``db_index=True`` (FKs: the default) created this index."""
        if len(index.columns) != 1 or index.is_unique or index.predicate or index.exprs:
            return None
        candidate = self.field(index.table, index.columns[0])
        if candidate is None or not candidate.db_index or candidate.unique:
            return None
        return candidate

    def describe_index(self, index: Index) -> str:
        """A phrase saying where Django got this index from, or '' when it is not Django's."""
        model = self.model(index.table)
        if model is None:
            return ""
        name = f"{model._meta.app_label}.{model.__name__}"
        if index.is_like_index:
            return f"Django's `_like` index for {self.label(index.table, index.columns)}"
        if self.meta_index(index) is not None:
            return f"{name}.Meta.indexes entry {index.index!r}"
        found = self.db_index_field(index)
        if found is not None:
            kind = "foreign key" if found.is_relation else "db_index=True field"
            return f"Django's index for the {kind} {name}.{found.name}"
        if model._meta.auto_created:
            return f"Django's index on the many-to-many table {index.table}"
        return f"an index on {name} that no model declares"

    # -- fixes as code --------------------------------------------------------

    def add_index_fix(self, table: str, columns: list[str]) -> str | None:
        """``AddIndexConcurrently`` migration and Meta.indexes line, or None if no model."""
        from django.db import models

        model = self.model(table)
        fields = [self.field(table, c) for c in columns]
        if model is None or not all(fields):
            return None
        idx = models.Index(fields=[f.name for f in fields], name="placeholder")
        idx.set_name_with_model(model)
        index_code = f"models.Index(fields={[f.name for f in fields]!r}, name={idx.name!r})"
        meta = model._meta
        op = f'AddIndexConcurrently(\n    "{meta.model_name}",\n    {index_code},\n),'
        return (
            f"# 1. in {meta.app_label}/models.py, class {model.__name__}.Meta:\n"
            f"#        indexes = [..., {index_code}]\n"
            f"# 2. the migration (makemigrations writes AddIndex; use this instead):\n"
            + self._migration(meta.app_label, f"{meta.model_name}_{idx.name}", [op], add=True)
        )

    def drop_index_fix(self, index: Index) -> str | None:
        """Remove an index the Django way, concurrently; None if no model knows it."""
        model = self.model(index.table)
        if model is None:
            return None
        meta = model._meta
        declared = self.meta_index(index)
        if declared is not None:
            op = f'RemoveIndexConcurrently("{meta.model_name}", {index.index!r}),'
            return (
                f"# 1. delete the Index named {index.index!r} from "
                f"{model.__name__}.Meta.indexes\n# 2. the migration:\n"
                + self._migration(meta.app_label, f"remove_{index.index}", [op], remove=True)
            )
        if meta.auto_created:
            return (
                f"# {index.table} is an auto-created many-to-many table: give the\n"
                "# ManyToManyField a through= model whose ForeignKey has db_index=False,\n"
                "# then drop the index with RunSQL as below.\n" + sql_drop_fix(index)
            )
        if self.is_library(index.table):
            return (
                f"# {meta.app_label}.{model.__name__} belongs to a library: its model cannot\n"
                "# change; drop the index with RunSQL in a migration of one of your apps.\n"
                + sql_drop_fix(index)
            )
        owner = self.db_index_field(index)
        if owner is not None:
            return self._drop_field_index(model, owner, index)
        return None

    def _drop_field_index(self, model: Any, owner: Any, index: Index) -> str:
        meta = model._meta
        new_field = with_kwargs(owner, db_index=False)
        op = (
            "migrations.SeparateDatabaseAndState(\n"
            "    state_operations=[\n"
            f'        migrations.AlterField("{meta.model_name}", "{owner.name}", {new_field}),\n'
            "    ],\n"
            "    database_operations=[\n"
            f"        migrations.RunSQL(\n"
            f"            {drop_sql(index)!r},\n"
            f"            reverse_sql={concurrent_definition(index)!r},\n"
            "        ),\n"
            "    ],\n"
            "),"
        )
        return (
            f"# 1. in {meta.app_label}/models.py: {owner.name} = {new_field}\n"
            f"#    (was {field_code(owner)})\n"
            "# 2. the migration (AlterField would DROP INDEX without CONCURRENTLY):\n"
            + self._migration(meta.app_label, f"{meta.model_name}_{owner.name}_no_index", [op])
        )

    def _migration(
        self, app: str, name: str, ops: list[str], *, add: bool = False, remove: bool = False
    ) -> str:
        imports = [
            op
            for flag, op in ((add, "AddIndexConcurrently"), (remove, "RemoveIndexConcurrently"))
            if flag
        ]
        lines = [f"# {app}/migrations/XXXX_{name}.py"]
        if imports:
            lines.append(f"from django.contrib.postgres.operations import {', '.join(imports)}")
        lines += [
            "from django.db import migrations, models",
            "",
            "",
            "class Migration(migrations.Migration):",
            "    atomic = False  # CONCURRENTLY cannot run inside a transaction",
            f'    dependencies = [("{app}", "{self.latest_migration(app)}")]',
            "    operations = [",
        ]
        for op in ops:
            lines.extend("        " + line for line in op.splitlines())
        lines.append("    ]")
        return "\n".join(lines)


@functools.lru_cache(maxsize=1024)
def _schema_ident(schema: str) -> str:
    """A schema's quoted name, once per schema: the fixes of tens of thousands of
    findings name the same few schemas."""
    return ident(schema)


def drop_sql(index: Index) -> str:
    name = f"{_schema_ident(index.schema)}.{ident(index.index)}"
    if index.partitioned:  # DROP INDEX CONCURRENTLY refuses a partitioned index
        return f"DROP INDEX IF EXISTS {name};"
    return f"DROP INDEX CONCURRENTLY IF EXISTS {name};"


def concurrent_definition(index: Index) -> str:
    """The index's own definition (``pg_get_indexdef``), made to build CONCURRENTLY.

    pglast's parser confirms it is a plain CREATE INDEX; the keyword is then put
    into the server's canonical text (``CREATE [UNIQUE] INDEX name ON ...``), which
    is 100 times faster than deparsing 10,000 statements with pglast's stream.
    A partitioned index cannot be built concurrently: its definition (``ON ONLY``
    in ``pg_get_indexdef``) becomes a plain ``CREATE INDEX`` on the whole table.
    A definition composed from the index's shape (see ``preload_definitions``)
    was built here from the catalog, not read: it needs no parse.
    """
    if index.composed and not index.partitioned:  # before the imports: most findings
        head = "CREATE UNIQUE INDEX " if index.is_unique else "CREATE INDEX "
        return f"{head}CONCURRENTLY {index.definition[len(head) :]};"
    import json

    from pglast import parse_sql
    from pglast.parser import parse_sql_json
    from pglast.stream import RawStream

    if index.partitioned:
        stmt: Any = parse_sql(index.definition)[0].stmt
        stmt.relation.inh = True
        stmt.concurrent = False
        return str(RawStream()(stmt)) + ";"
    # the C parser's JSON tree: no Python AST is built for the common case
    tree = json.loads(parse_sql_json(index.definition))["stmts"][0]["stmt"]["IndexStmt"]
    head = "CREATE UNIQUE INDEX " if tree.get("unique") else "CREATE INDEX "
    if index.definition.startswith(head) and not tree.get("concurrent"):
        return f"{head}CONCURRENTLY {index.definition[len(head) :]};"
    stmt = parse_sql(index.definition)[0].stmt
    stmt.concurrent = True
    return str(RawStream()(stmt)) + ";"


def sql_drop_fix(index: Index) -> str:
    """The fix for an index no model knows: drop it, keeping the way back."""
    if index.partitioned:
        return (
            f"-- {index.index} is a partitioned index: it cannot be dropped CONCURRENTLY, and\n"
            f"-- DROP INDEX locks {index.table} and every partition (ACCESS EXCLUSIVE) briefly\n"
            f"SET lock_timeout = '5s';\n{drop_sql(index)}\n"
            f"-- to restore it (builds on every partition, blocking writes):\n"
            f"{concurrent_definition(index)}"
        )
    return f"{drop_sql(index)}\n-- to restore it:\n{concurrent_definition(index)}"


def sql_add_fix(schema: str, table: str, columns: list[str]) -> str:
    cols = ", ".join(ident(c) for c in columns)
    return f"CREATE INDEX CONCURRENTLY ON {_schema_ident(schema)}.{ident(table)} ({cols});"


def add_index_fix(models: Models | None, schema: str, table: str, columns: list[str]) -> str:
    """Django code when a model owns the table, otherwise SQL."""
    code = models.add_index_fix(table, columns) if models and schema_ok(schema) else None
    return code or sql_add_fix(schema, table, columns)


def drop_index_fix(models: Models | None, index: Index) -> str:
    code = models.drop_index_fix(index) if models and index.visible else None
    return code or sql_drop_fix(index)


def models_schema_audited(ctx: Any) -> bool:
    """Whether the schemas the models' tables live in (the search_path) are audited."""
    path = ctx.cached(
        "search_path", lambda: [r[0] for r in ctx.tuples("SELECT unnest(current_schemas(false))")]
    )
    return any(name in ctx.schema_names for name in path)


def schema_ok(schema: str) -> bool:
    return schema == "public"


def describe(models: Models | None, index: Index) -> str:
    return models.describe_index(index) if models and index.visible else ""


def library_severity(models: Models | None, index: Index) -> Severity | None:
    """INFO for an index on a library's table (the user cannot change its model)."""
    if models is not None and index.visible and models.is_library(index.table):
        return Severity.INFO
    return None
