"""SO603 integer-primary-key: a new table gets a 32-bit auto-incrementing primary key.

## What it does
Flags ``CreateModel`` whose primary key is an ``AutoField`` (``integer``) or
``SmallAutoField`` (``smallint``), and ``CREATE TABLE`` in SQL whose primary
key column is ``serial``, ``integer``, ``smallserial`` or ``smallint``.

## Why is this bad?
An ``integer`` sequence runs out at 2,147,483,647 (a ``smallint`` one at
32,767): inserts then fail with "nextval: reached maximum value". Widening
the column later is an ``ALTER COLUMN TYPE bigint`` that rewrites the table
and every index on it, and every foreign key column pointing at it, under
ACCESS EXCLUSIVE locks that block reads and writes for the whole rewrite.
On a new table the fix costs nothing.

## Example
```python
migrations.CreateModel(
    "Event", [("id", models.AutoField(auto_created=True, primary_key=True, serialize=False))]
)
```

## Use instead
```python
migrations.CreateModel(
    "Event", [("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False))]
)
```
and make it the default for new models: ``DEFAULT_AUTO_FIELD =
"django.db.models.BigAutoField"`` in settings (or ``default_auto_field`` on
the app's ``AppConfig``).

## References
- https://docs.djangoproject.com/en/stable/ref/settings/#default-auto-field
- squawk ``prefer-bigint-over-int``, ``prefer-identity``
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations
from pglast import ast, enums
from pglast.stream import RawStream

from schemaops.findings import Finding, Severity
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import parse

SMALL_AUTO = ("AutoField", "SmallAutoField")
# 32-bit or smaller SQL types a primary key should not have, and their 64-bit twin
WIDER = {
    "serial": "bigserial",
    "serial4": "bigserial",
    "smallserial": "bigserial",
    "serial2": "bigserial",
    "int4": "bigint",
    "int2": "bigint",
}
SETTINGS = (
    "# settings.py (or default_auto_field on the app's AppConfig), for every new model:\n"
    'DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"'
)


class IntegerPrimaryKey(Rule):
    code = "SO603"
    name = "integer-primary-key"
    summary = "A new table gets a 32-bit auto-incrementing primary key"
    severity = Severity.INFO
    category = "hygiene"
    operations = (migrations.CreateModel,)
    statements = ("CreateStmt",)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        for name, field in op.fields:
            kind = field.get_internal_type()
            if getattr(field, "primary_key", False) and kind in SMALL_AUTO:
                yield self.finding(
                    ctx,
                    f"CreateModel {op.name} gives {ctx.after.db_table if ctx.after else op.name}"
                    f".{name} a {kind} ({_width(kind)}) primary key: it runs out at "
                    f"{_limit(kind)} inserts, and widening it later rewrites the table",
                    recipe=f"# in CreateModel({op.name!r}, ...):\n"
                    f'("{name}", {_big_field(field)}),\n\n{SETTINGS}',
                )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        keys = _primary_key_columns(ctx.node)
        narrow = [(name, kind) for name, kind, _ in _key_types(ctx.node, keys)]
        if not narrow:
            return
        where = ", ".join(f"{ctx.node.relation.relname}.{name} {kind}" for name, kind in narrow)
        yield self.finding(
            ctx,
            f"CREATE TABLE gives {where} a 32-bit primary key: it runs out after "
            "2,147,483,647 inserts, and widening it later rewrites the table",
            recipe=f"-- write the CREATE TABLE with a 64-bit key:\n{_widened(ctx.sql)};",
        )


def _key_types(node: Any, keys: set[str]) -> list[tuple[str, str, Any]]:
    """(column, type, TypeName) of the key columns a CREATE TABLE declares 32-bit or less."""
    out = []
    for elt in node.tableElts or ():
        if isinstance(elt, ast.ColumnDef) and elt.typeName is not None and elt.colname in keys:
            names = [str(n.sval) for n in elt.typeName.names or () if isinstance(n, ast.String)]
            kind = names[-1].lower() if names else "?"
            if kind in WIDER:
                out.append((str(elt.colname), kind, elt.typeName))
    return out


def _widened(sql: str) -> str:
    """The statement again (parsed afresh, so other rules' nodes stay untouched), with
    its narrow key columns widened; only those change."""
    out = []
    for stmt in parse(sql):
        node = stmt.node
        if isinstance(node, ast.CreateStmt):
            for _name, kind, type_name in _key_types(node, _primary_key_columns(node)):
                type_name.names = (ast.String(sval=WIDER[kind]),)
                type_name.typmods = None
        out.append(str(RawStream()(node)))
    return ";\n".join(out)


def _width(kind: str) -> str:
    return "smallint" if kind == "SmallAutoField" else "integer"


def _limit(kind: str) -> str:
    return "32,767" if kind == "SmallAutoField" else "2,147,483,647"


def _big_field(field: Any) -> str:
    """The same field as a BigAutoField, written by Django's migration serializer."""
    from django.db import models
    from django.db.migrations.writer import MigrationWriter

    _, _path, args, kwargs = field.deconstruct()
    return str(MigrationWriter.serialize(models.BigAutoField(*args, **kwargs))[0])


def _primary_key_columns(node: Any) -> set[str]:
    """Columns of the primary key a CREATE TABLE declares (column or table constraint)."""
    keys: set[str] = set()
    primary = enums.ConstrType.CONSTR_PRIMARY
    for elt in node.tableElts or ():
        if isinstance(elt, ast.ColumnDef):
            if any(getattr(c, "contype", None) == primary for c in elt.constraints or ()):
                keys.add(str(elt.colname))
        elif isinstance(elt, ast.Constraint) and elt.contype == primary:
            keys.update(str(k.sval) for k in elt.keys or () if isinstance(k, ast.String))
    return keys
