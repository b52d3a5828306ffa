"""Drift between the Django models and the real schema (AU301-AU309; needs a Django project).

The expected side comes from the models routed to the audited alias (what
``migrate`` would have built); the real side from Django's own introspection
(``connection.introspection.get_table_list`` / ``get_constraints``) run on the
audit's read-only cursor, plus the shared catalog snapshots. Introspection of
constraints runs once per *model* table; everything else is set-based.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from schemaops.audit._base import AuditContext, CheckSkipped, Hit, check
from schemaops.audit._catalog import Index, indexes, with_definition
from schemaops.audit._django import Models, models_schema_audited
from schemaops.findings import Severity
from schemaops.statements import ident
from schemaops.tables import schema_qualified

MODELS = ("models",)
# Tables Django creates without a model in the app registry.
DJANGO_OWN = frozenset({"django_migrations"})


@dataclass
class Expected:
    """What one model's table should look like in the database."""

    table: str
    label: str
    columns: dict[str, tuple[str, bool, Any]] = field(default_factory=dict)  # db_type, null, f
    indexes: list[tuple[str, list[str], str]] = field(default_factory=list)  # kind, cols, name
    constraints: list[tuple[str, list[str], str, str]] = field(default_factory=list)


def expected(models: Models) -> dict[str, Expected]:
    """The schema the models describe, keyed by table."""
    conn = models.connection
    editor = conn.schema_editor(collect_sql=True, atomic=False)  # only for index names
    return {t: _expected(m, conn, editor) for t, m in models.by_table.items()}


def _expected(model: Any, conn: Any, editor: Any) -> Expected:
    meta = model._meta
    exp = Expected(meta.db_table, f"{meta.app_label}.{model.__name__}")
    for f in meta.local_concrete_fields:
        db_type = f.db_type(conn)
        if db_type is None:
            continue
        exp.columns[f.column] = (db_type, f.null and not f.primary_key, f)
        _field_rules(exp, f, db_type, editor)
    for idx in meta.indexes:
        exp.indexes.append(("Meta.indexes", [], idx.name))
    for con in meta.constraints:
        exp.constraints.append((type(con).__name__, [], con.name, "name"))
    for fields in meta.unique_together:
        cols = [meta.get_field(n).column for n in fields]
        exp.constraints.append(("unique_together", cols, "", "unique"))
    return exp


def _field_rules(exp: Expected, f: Any, db_type: str, editor: Any) -> None:
    col = f.column
    if f.primary_key:
        exp.constraints.append(("primary key", [col], "", "primary_key"))
    elif f.unique:
        exp.constraints.append(("unique=True", [col], "", "unique"))
    elif f.db_index:
        exp.indexes.append(("db_index", [col], ""))
    if f.is_relation and f.many_to_one and getattr(f, "db_constraint", False):
        exp.constraints.append(("ForeignKey", [col], f.related_model._meta.db_table, "fk"))
    like = f.db_index or f.unique  # unique is true for a primary key: Django indexes it too
    if like and db_type.startswith(("varchar", "text")) and "[" not in db_type:
        exp.indexes.append(("_like", [col], editor._create_index_name(exp.table, [col], "_like")))


COLUMNS = """
SELECT c.relname AS "table", a.attname AS "column",
       format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' AS has_default
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE c.relname = ANY(%(tables)s) AND pg_table_is_visible(c.oid)
  AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""


class Drift:
    """Both sides, read once per run and shared by the drift checks."""

    def __init__(self, ctx: AuditContext) -> None:
        assert ctx.models is not None
        self.models: Models = ctx.models
        # Django's introspection sees the search_path's tables only: models on a
        # schema-qualified db_table ('"billing"."invoice"') are left out, with a note (AU301)
        everything = expected(ctx.models)
        self.qualified = sorted(t for t in everything if schema_qualified(t))
        self.expected = {t: e for t, e in everything.items() if not schema_qualified(t)}
        for exp in self.expected.values():
            exp.constraints = [c for c in exp.constraints if not _to_qualified(c)]
        intro = ctx.models.connection.introspection
        with ctx.conn.cursor() as cur:
            self.tables = {t.name for t in intro.get_table_list(cur) if t.type == "t"}
            present = [t for t in self.expected if t in self.tables]
            self.constraints = {t: intro.get_constraints(cur, t) for t in present}
        self.columns: dict[str, dict[str, dict[str, Any]]] = {}
        for row in ctx.rows(COLUMNS, {"tables": present}):
            self.columns.setdefault(row["table"], {})[row["column"]] = row
        self.indexes: dict[str, list[Index]] = {}
        for index in indexes(ctx):
            if index.visible and index.table in self.expected:
                self.indexes.setdefault(index.table, []).append(index)

    @classmethod
    def of(cls, ctx: AuditContext) -> Drift:
        if not models_schema_audited(ctx):
            raise CheckSkipped(
                "the models' tables are in a schema left out by --schema/--exclude-schema"
            )
        result: Drift = ctx.cached("drift", lambda: cls(ctx))
        return result

    def present(self) -> Iterator[Expected]:
        return (e for t, e in self.expected.items() if t in self.tables)


def _to_qualified(constraint: tuple[str, list[str], str, str]) -> bool:
    """A foreign key to a schema-qualified table: introspection cannot name its target."""
    return constraint[3] == "fk" and schema_qualified(constraint[2])


@check("AU301", "model-table-missing", Severity.ERROR, needs=MODELS)
def model_table_missing(ctx: AuditContext) -> Iterator[Hit]:
    """A model's table does not exist in the database.

    ## What it does
    Compares the ``db_table`` of every managed model routed to the audited
    database with the tables Django's introspection finds.

    ## Why is this bad?
    Every query on the model fails. Usually a migration was faked, rolled back
    by hand, or not applied to this database.

    ## Fix
    ``python manage.py showmigrations`` to see what is applied; re-apply the
    migration that creates it (``migrate <app> <previous>`` then ``migrate``),
    or create the table from ``sqlmigrate`` output.
    """
    drift = Drift.of(ctx)
    if drift.qualified:
        ctx.note(
            f"{len(drift.qualified)} model table(s) in an explicit schema not compared with the "
            f"database ({', '.join(drift.qualified)}): drift checks read the search_path's tables"
        )
    for table, exp in drift.expected.items():
        if table not in drift.tables:
            yield Hit(
                message=f"{exp.label} expects table {table}, which does not exist",
                obj=table,
                fix=f"python manage.py showmigrations {exp.label.split('.')[0]}",
            )


@check("AU302", "model-column-missing", Severity.ERROR, needs=MODELS)
def model_column_missing(ctx: AuditContext) -> Iterator[Hit]:
    """A model field's column does not exist in the database.

    ## What it does
    Compares each concrete field's ``column`` with the table's real columns.

    ## Why is this bad?
    Django selects every field by name: every query that loads the model fails
    with "column does not exist".

    ## Fix
    Apply (or re-apply) the migration that adds the field; ``sqlmigrate``
    shows its SQL.
    """
    drift = Drift.of(ctx)
    for exp in drift.present():
        real = drift.columns.get(exp.table, {})
        for column, (db_type, _null, f) in exp.columns.items():
            if column not in real:
                yield Hit(
                    message=f"{exp.label}.{f.name} expects column {exp.table}.{column} "
                    f"({db_type}), which does not exist",
                    obj=f"{exp.table}.{column}",
                    evidence={"expected_type": db_type},
                    fix=f"python manage.py sqlmigrate {exp.label.split('.')[0]} <migration>",
                )


@lru_cache(maxsize=4096)
def normalize_type(text: str) -> tuple[str, tuple[int, ...], int]:
    """A type as (name, typmods, array dims), parsed by PostgreSQL's own grammar (pglast)."""
    from pglast import parse_sql

    select: Any = parse_sql(f"SELECT NULL::{text}")[0].stmt
    type_name = select.targetList[0].val.typeName
    mods = tuple(getattr(m.val, "ival", -1) for m in type_name.typmods or ())
    return type_name.names[-1].sval, mods, len(type_name.arrayBounds or ())


def _same_type(model_type: str, db_type: str) -> bool:
    try:
        return normalize_type(model_type) == normalize_type(db_type)
    except Exception:  # a type pglast cannot read: compare the text
        return model_type.replace(" ", "") == db_type.replace(" ", "")


@check("AU303", "column-type-differs", Severity.WARNING, needs=MODELS)
def column_type_differs(ctx: AuditContext) -> Iterator[Hit]:
    """A column's type differs from what its model field declares.

    ## What it does
    Compares each field's ``db_type()`` with ``format_type`` of the real
    column, both parsed by PostgreSQL's grammar (so ``varchar(20)`` equals
    ``character varying(20)``, ``integer`` equals ``int4``).

    ## Why is this bad?
    Values that pass Django's validation can be rejected or silently cut by
    the database (a shorter varchar, a smaller integer), and the next
    ``AlterField`` generates SQL for a type that is not there.

    ## Fix
    Decide which side is right: change the model (and fake the migration
    state with ``SeparateDatabaseAndState``), or migrate the column.
    """
    drift = Drift.of(ctx)
    for exp in drift.present():
        real = drift.columns.get(exp.table, {})
        for column, (db_type, _null, f) in exp.columns.items():
            row = real.get(column)
            if f.primary_key and f.model._meta.auto_created:
                continue  # Django builds M2M tables' ids from DEFAULT_AUTO_FIELD at creation
            if row is not None and not _same_type(db_type, row["type"]):
                yield Hit(
                    message=f"{exp.label}.{f.name}: model says {db_type}, "
                    f"column {exp.table}.{column} is {row['type']}",
                    obj=f"{exp.table}.{column}",
                    evidence={"model_type": db_type, "db_type": row["type"]},
                    fix=f"ALTER TABLE {ident(exp.table)} ALTER COLUMN {ident(column)} "
                    f"TYPE {db_type};  -- check the lock and rewrite with schemaops check",
                )


@check("AU304", "nullability-differs", Severity.WARNING, needs=MODELS)
def nullability_differs(ctx: AuditContext) -> Iterator[Hit]:
    """A column's NOT NULL differs from the model field's ``null``.

    ## What it does
    Compares each field's ``null`` with the column's ``attnotnull``
    (active_record_doctor ``missing_non_null_constraint``).

    ## Why is this bad?
    ``null=True`` on a NOT NULL column: saving None fails in production (an
    error). ``null=False`` on a nullable column: the database accepts NULLs
    that the code assumes never happen (a warning).

    ## Fix
    Make the model match, or change the column safely: ``SET NOT NULL``
    after a validated ``CHECK (col IS NOT NULL)`` skips the long scan.
    """
    drift = Drift.of(ctx)
    for exp in drift.present():
        real = drift.columns.get(exp.table, {})
        for column, (_type, null, f) in exp.columns.items():
            row = real.get(column)
            if row is None or row["nullable"] == null:
                continue
            where = f"{ident(exp.table)} ALTER COLUMN {ident(column)}"
            yield Hit(
                message=f"{exp.label}.{f.name} has null={null} but column "
                f"{exp.table}.{column} is {'NULL' if row['nullable'] else 'NOT NULL'}",
                obj=f"{exp.table}.{column}",
                evidence={"model_null": null, "db_nullable": row["nullable"]},
                fix=(
                    f"ALTER TABLE {where} DROP NOT NULL;"
                    if null
                    else f"-- after ADD CHECK ({ident(column)} IS NOT NULL) NOT VALID + VALIDATE:\n"
                    f"ALTER TABLE {where} SET NOT NULL;"
                ),
                severity=Severity.ERROR if null else None,
            )


@check("AU305", "model-index-missing", Severity.WARNING, needs=MODELS)
def model_index_missing(ctx: AuditContext) -> Iterator[Hit]:
    """An index the models declare is missing from the database.

    ## What it does
    Checks ``Meta.indexes`` by name, every ``db_index=True`` field (ForeignKeys
    by default) for a valid index on exactly its column, and the ``_like``
    pattern_ops index Django adds to indexed CharFields and TextFields.

    ## Why is this bad?
    The queries the index was made for scan the table; Django's state believes
    the index exists, so ``makemigrations`` will never add it back. Typical
    causes: a failed ``AddIndexConcurrently``, a faked migration, a manual DROP.

    ## Fix
    Recreate it concurrently with the name Django expects (``RunSQL`` with
    ``CREATE INDEX CONCURRENTLY`` in an ``atomic = False`` migration).
    """
    drift = Drift.of(ctx)
    for exp in drift.present():
        have = drift.indexes.get(exp.table, [])
        for kind, cols, name in exp.indexes:
            if not _index_present(have, kind, cols, name):
                what = name or f"index on ({', '.join(cols)})"
                yield Hit(
                    message=f"{exp.label}: {kind} {what} is missing in {exp.table}",
                    obj=f"{exp.table}.{name or '_'.join(cols)}",
                    evidence={"kind": kind, "columns": cols, "name": name},
                    fix=_recreate(exp, kind, cols, name),
                )


def _index_present(have: list[Index], kind: str, cols: list[str], name: str) -> bool:
    if kind == "Meta.indexes":
        return any(i.index == name and i.is_valid for i in have)
    if kind == "_like":
        return any(i.is_valid and i.is_like_index and i.key_columns == cols for i in have)
    return any(
        i.is_valid and not i.is_like_index and i.key_columns[: len(cols)] == cols for i in have
    )


def _recreate(exp: Expected, kind: str, cols: list[str], name: str) -> str:
    col_list = ", ".join(ident(c) for c in cols)
    if kind == "_like":
        return (
            f"CREATE INDEX CONCURRENTLY {ident(name)} ON {ident(exp.table)} "
            f"({col_list} varchar_pattern_ops);"
        )
    if kind == "Meta.indexes":
        return f"-- sqlmigrate shows the definition of {name}; run it with CONCURRENTLY"
    return f"CREATE INDEX CONCURRENTLY ON {ident(exp.table)} ({col_list});"


@check("AU306", "model-constraint-missing", Severity.ERROR, needs=MODELS)
def model_constraint_missing(ctx: AuditContext) -> Iterator[Hit]:
    """A primary key, unique, foreign key or named constraint of the models is missing.

    ## What it does
    With Django's ``get_constraints`` introspection, checks the primary key,
    ``unique=True`` fields, ``unique_together``, ForeignKeys with
    ``db_constraint=True`` (by column and referenced table) and every
    ``Meta.constraints`` entry by name.

    ## Why is this bad?
    The rule the code relies on is not enforced: duplicates and orphans get
    in, and ``get_or_create`` races produce duplicate rows.

    ## Fix
    Clean the data, then add the constraint without a long lock: ``NOT VALID``
    + ``VALIDATE`` for foreign keys and checks, ``CREATE UNIQUE INDEX
    CONCURRENTLY`` + ``ADD CONSTRAINT ... USING INDEX`` for uniques.
    """
    drift = Drift.of(ctx)
    for exp in drift.present():
        have = drift.constraints.get(exp.table, {})
        for kind, cols, extra, rule in exp.constraints:
            if not _constraint_present(have, cols, extra, rule):
                what = extra if rule == "name" else f"({', '.join(cols)})"
                yield Hit(
                    message=f"{exp.label}: {kind} {what} is missing in {exp.table}",
                    obj=f"{exp.table}.{extra or '_'.join(cols)}",
                    evidence={"kind": kind, "columns": cols},
                )


def _constraint_present(have: dict[str, Any], cols: list[str], extra: str, rule: str) -> bool:
    if rule == "name":
        return extra in have
    for info in have.values():
        if rule == "fk":
            target = info.get("foreign_key")
            if target and info["columns"] == cols and target[0] == extra:
                return True
        elif info.get(rule) and sorted(info["columns"]) == sorted(cols):
            return True
    return False


@check("AU307", "table-not-in-models", Severity.INFO, needs=MODELS)
def table_not_in_models(ctx: AuditContext) -> Iterator[Hit]:
    """A table exists in the database but no model uses it.

    ## What it does
    Lists visible tables that no managed model routed to this database
    declares (Django's own ``django_migrations`` excepted).

    ## Why is this bad?
    Leftovers of deleted models or of another application: they take space,
    show up in backups, and may hold foreign keys that block deletes.

    ## Fix
    Confirm nothing reads it, then drop it in a post-deploy migration, or
    declare it with a ``managed = False`` model.
    """
    drift = Drift.of(ctx)
    unmanaged = {m._meta.db_table for m in _all_models()}
    for table in sorted(drift.tables - set(drift.expected) - DJANGO_OWN - unmanaged):
        yield Hit(
            message=f"table {table} is in no model",
            obj=table,
            fix=f"DROP TABLE {ident(table)};  -- post-deploy, after a backup",
        )


def _all_models() -> list[Any]:
    from django.apps import apps

    return list(apps.get_models(include_auto_created=True))


@check("AU308", "column-not-in-models", Severity.INFO, needs=MODELS)
def column_not_in_models(ctx: AuditContext) -> Iterator[Hit]:
    """A model's table has a column no field declares; an error when it is NOT NULL without default.

    ## What it does
    Compares each model table's columns with the model's fields.

    ## Why is this bad?
    Django's INSERTs never name the column: if it is NOT NULL with no default,
    every ``save()`` of a new row fails (error). Otherwise it is a leftover
    of a state-only removal, waiting for its post-deploy drop.

    ## Fix
    Drop it in a post-deploy migration, or give it a default / make it
    nullable first.
    """
    drift = Drift.of(ctx)
    for exp in drift.present():
        for column, row in drift.columns.get(exp.table, {}).items():
            if column in exp.columns:
                continue
            blocks = not row["nullable"] and not row["has_default"]
            note = "; inserts from Django fail: NOT NULL without a default" if blocks else ""
            yield Hit(
                message=f"{exp.table}.{column} ({row['type']}) is in no field of {exp.label}{note}",
                obj=f"{exp.table}.{column}",
                evidence={
                    "type": row["type"],
                    "nullable": row["nullable"],
                    "has_default": row["has_default"],
                },
                fix=f"ALTER TABLE {ident(exp.table)} DROP COLUMN {ident(column)};  -- post-deploy",
                severity=Severity.ERROR if blocks else None,
            )


@check("AU309", "index-not-in-models", Severity.INFO, needs=MODELS)
def index_not_in_models(ctx: AuditContext) -> Iterator[Hit]:
    """An index on a model's table was created outside the models.

    ## What it does
    Lists indexes on model tables that match none of the model's indexes,
    db_index fields, ``_like`` indexes or unique/primary key constraints.

    ## Why is this bad?
    ``makemigrations`` cannot see it: a later ``AlterField`` or model rename
    will not carry it along, and nobody knows whether it is still needed.

    ## Fix
    Declare it in ``Meta.indexes`` (with ``SeparateDatabaseAndState`` so no
    second index is built), or drop it if AU104 shows it unused.
    """
    drift = Drift.of(ctx)
    for exp in drift.present():
        for index in drift.indexes.get(exp.table, []):
            if not _explained(exp, index):
                index = with_definition(ctx, index)
                yield Hit(
                    message=f"index {index.index} on {exp.table} ({exp.label}) is declared by "
                    f"no model: {index.definition}",
                    obj=index.obj,
                    evidence={"definition": index.definition, "idx_scan": index.scans},
                )


def _explained(exp: Expected, index: Index) -> bool:
    names = {n for _k, _c, n in exp.indexes} | {
        e for _k, _c, e, r in exp.constraints if r == "name"
    }
    if index.backs_constraint or index.index in names:
        return True
    cols = index.key_columns
    singles = {tuple(c) for kind, c, _n in exp.indexes if kind in ("db_index", "_like")}
    uniques = {tuple(sorted(c)) for _k, c, _e, rule in exp.constraints if rule != "fk"}
    if index.is_unique and tuple(sorted(c or "" for c in cols)) in uniques:
        return True
    return not index.is_unique and tuple(cols) in singles
