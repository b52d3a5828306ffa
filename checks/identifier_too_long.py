"""SO607 identifier-too-long: a name longer than 63 bytes, which PostgreSQL silently truncates.

## What it does
Flags names longer than 63 bytes: a model's ``db_table``, a column
(``db_column``, or the field name), a many-to-many ``db_table``, an index
or constraint name in Django operations; and any identifier in a ``RunSQL``
statement that creates, alters or renames something. Names Django
generates itself (a default ``db_table``, an index name from
``fields``) are already cut to 63 bytes and pass.

## Why is this bad?
PostgreSQL keeps only the first 63 bytes of an identifier (``NAMEDATALEN``
- 1) and says so only in a NOTICE nobody reads. Two names that share those
63 bytes collide (``relation already exists``), and anything that compares
the full name with the catalog (Django's introspection when it alters or
drops a constraint, ``inspectdb``, schema diff tools, monitoring queries)
does not find the object.

## Example
```python
migrations.AddConstraint(
    "order",
    models.CheckConstraint(
        condition=models.Q(amount__gte=0),
        name="order_amount_must_never_be_negative_even_for_refunds_and_credit_notes",
    ),
)
```

## Use instead
A name of at most 63 bytes; the recipe keeps the start of yours and adds a
short hash, as Django does for the names it generates.

## References
- https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS
- https://squawkhq.com/docs/identifier-too-long
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from django.db import migrations
from pglast import ast
from pglast.parser import scan
from pglast.stream import RawStream

from schemaops.checks._data import runsql_texts
from schemaops.columns import auto_created_m2m_table, has_column
from schemaops.findings import Finding, Severity
from schemaops.plan import column_for
from schemaops.remedy.writer import migration_module
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import parse

MAX_BYTES = 63
Patch = Callable[[Any, str], None]  # renames one object in a copy of the operation


def too_long(name: str) -> bool:
    return len(name.encode()) > MAX_BYTES


def truncated(name: str) -> str:
    """What PostgreSQL keeps: the first 63 bytes, never half a character."""
    return name.encode()[:MAX_BYTES].decode(errors="ignore")


def shortened(name: str) -> str:
    """A 63-byte-safe name: the start of ``name`` and 8 hex digits of its hash."""
    digest = hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()[:8]
    return name.encode()[: MAX_BYTES - 9].decode(errors="ignore").rstrip("_") + "_" + digest


class IdentifierTooLong(Rule):
    code = "SO607"
    name = "identifier-too-long"
    summary = "A name is longer than the 63 bytes PostgreSQL keeps"
    severity = Severity.WARNING
    category = "hygiene"
    operations = (
        migrations.CreateModel,
        migrations.AddField,
        migrations.AlterField,
        migrations.AlterModelTable,
        migrations.AddIndex,
        migrations.AddConstraint,
        migrations.RenameIndex,
    )
    statements = (
        "CreateStmt",
        "CreateTableAsStmt",
        "AlterTableStmt",
        "IndexStmt",
        "RenameStmt",
        "ViewStmt",
        "CreateSeqStmt",
        "CreateEnumStmt",
        "CreateDomainStmt",
        "CreateSchemaStmt",
        "CreateFunctionStmt",
        "CreateTrigStmt",
    )

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        found = [(what, name, patch) for what, name, patch in _django_names(ctx) if too_long(name)]
        if not found:
            return
        yield self.finding(
            ctx,
            "; ".join(_describe(what, name) for what, name, _patch in found),
            recipe=_operation_recipe(ctx, found),
        )

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        long_names = list(dict.fromkeys(n for n in _identifiers(ctx.sql) if too_long(n)))
        if not long_names:
            return
        # The parser only kept the truncated names: rename by those, in every statement
        # of the operation, unless two long names of it share their first 63 bytes.
        every = [n for text in _texts(ctx) for n in _identifiers(text) if too_long(n)]
        by_prefix: dict[str, set[str]] = {}
        for name in every:
            by_prefix.setdefault(truncated(name), set()).add(name)
        clashes = sorted(p for p, group in by_prefix.items() if len(group) > 1)
        message = "; ".join(_describe("identifier", n) for n in long_names)
        recipe = _renames(dict.fromkeys(every))
        if clashes:
            message += f" (several names become {', '.join(clashes)})"
        elif isinstance(ctx.operation.operation, migrations.RunSQL):
            renames = {truncated(n): shortened(n) for n in every}
            recipe = _runsql_recipe(ctx, renames) or recipe
        yield self.finding(ctx, message, recipe=recipe)


def _renames(names: Any) -> str:
    """The recipe in words, where no code can be written."""
    return "\n".join(f"# rename {name} to {shortened(name)}" for name in names)


def _module(ctx: Any, operation: Any) -> str:
    """``operation`` as a migration module, by the planner's writer (Django's MigrationWriter)."""
    mig = ctx.migration
    name = f"XXXX_{mig.name.split('_', 1)[-1]}"
    return f"# {mig.app_label}/migrations/{name}.py\n" + migration_module(
        mig.app_label, name, [operation], list(mig.dependencies)
    )


def _operation_recipe(ctx: OperationContext, found: list[tuple[str, str, Patch]]) -> str:
    """The operation with every long name shortened; a list of renames when the
    operation cannot be copied and written back (a custom field of odd shape)."""
    try:
        fixed = copy.deepcopy(ctx.operation)
        for _what, name, patch in found:
            patch(fixed, shortened(name))
        return _module(ctx, fixed)
    except Exception:
        return _renames(name for _w, name, _p in found)


def _runsql_recipe(ctx: StatementContext, renames: dict[str, str]) -> str | None:
    """The user's RunSQL with the names the parser kept replaced in its AST and
    re-printed by pglast, item by item (a ``(sql, params)`` item keeps its params);
    None when a statement does not parse or print."""
    op = ctx.operation.operation
    try:
        if isinstance(op.sql, str):
            sql: Any = _renamed(op.sql, renames)
        else:
            sql = [
                (_renamed(i[0], renames), i[1])
                if isinstance(i, list | tuple)
                else _renamed(i, renames)
                for i in op.sql
            ]
        fixed = migrations.RunSQL(sql, reverse_sql=op.reverse_sql, elidable=op.elidable)
        return _module(ctx.operation, fixed)
    except Exception:
        return None


def _renamed(sql: str, renames: dict[str, str]) -> str:
    """``sql`` with the long names replaced; as written when it names none (a
    ``%s`` placeholder, which pglast cannot parse, is then no obstacle)."""
    if not any(too_long(name) for name in _identifiers(sql)):
        return sql
    out = []
    for stmt in parse(sql):
        _rename(stmt.node, renames)
        out.append(str(RawStream()(stmt.node)))
    return ";\n".join(out)


def _texts(ctx: StatementContext) -> list[str]:
    op = ctx.operation.operation
    if isinstance(op, migrations.RunSQL):
        return runsql_texts(op.sql)
    return [ctx.sql]


def _describe(what: str, name: str) -> str:
    return (
        f"{what} {name} is {len(name.encode())} bytes: PostgreSQL silently keeps only "
        f"{truncated(name)}"
    )


def _identifiers(sql: str) -> Iterator[str]:
    """Identifiers as written (PostgreSQL's own scanner), unquoted and case-folded."""
    for token in scan(sql):
        if token.name != "IDENT":
            continue
        text = sql[token.start : token.end + 1]
        if text.startswith('"') and text.endswith('"') and len(text) > 1:
            yield text[1:-1].replace('""', '"')
        else:
            yield text.lower()


def _rename(node: Any, renames: dict[str, str]) -> None:
    """Replace every truncated name the parser kept with its shortened form, in place."""
    if isinstance(node, ast.Node):
        for attr in node:
            value = getattr(node, attr)
            if isinstance(value, str) and value in renames:
                setattr(node, attr, renames[value])
            else:
                _rename(value, renames)
    elif isinstance(node, tuple | list):
        for item in node:
            _rename(item, renames)


def _django_names(ctx: OperationContext) -> Iterator[tuple[str, str, Patch]]:
    """(what, name, patch) for every name the operation gives the database."""
    op = ctx.operation
    if isinstance(op, migrations.CreateModel):
        if op.options.get("db_table"):
            yield "db_table", str(op.options["db_table"]), _set_option
        for index, (name, field) in enumerate(op.fields):
            yield from _field_names(name, field, _nth_field(index))
        for kind, what in (("indexes", "index"), ("constraints", "constraint")):
            for i, item in enumerate(op.options.get(kind, ())):
                yield what, item.name, _set_item(kind, i)
    elif isinstance(op, migrations.AddField):
        yield from _field_names(op.name, op.field, lambda o: o.field)
    elif isinstance(op, migrations.AlterField):
        old = ctx.field_before(op.name)
        if old is None or column_for(op.name, old) != column_for(op.name, op.field):
            yield from _field_names(op.name, op.field, lambda o: o.field)
    elif isinstance(op, migrations.AlterModelTable) and op.table:
        yield "db_table", str(op.table), lambda o, short: setattr(o, "table", short)
    elif isinstance(op, migrations.AddIndex):
        yield "index", op.index.name, lambda o, short: setattr(o.index, "name", short)
    elif isinstance(op, migrations.AddConstraint):
        yield (
            "constraint",
            op.constraint.name,
            lambda o, short: setattr(o.constraint, "name", short),
        )
    elif isinstance(op, migrations.RenameIndex):
        yield "index", op.new_name, lambda o, short: setattr(o, "new_name", short)


def _field_names(
    name: str, field: Any, get: Callable[[Any], Any]
) -> Iterator[tuple[str, str, Patch]]:
    """The table or column name a field gives the database, if it gives one.

    Fields of any shape come here (custom fields, ``GenericRelation``,
    django-taggit's ``TaggableManager``): nothing is read that a field may lack.
    """
    if getattr(field, "many_to_many", False):
        table = auto_created_m2m_table(field)
        if table:
            yield "many-to-many db_table", table, lambda o, s: setattr(get(o), "db_table", s)
        return
    column = column_for(name, field)
    if too_long(column) and has_column(field):  # has_column only for the rare long name
        yield "column", column, lambda o, s: setattr(get(o), "db_column", s)


def _nth_field(index: int) -> Callable[[Any], Any]:
    def get(op: Any) -> Any:
        return op.fields[index][1]

    return get


def _set_option(op: Any, short: str) -> None:
    op.options["db_table"] = short


def _set_item(kind: str, index: int) -> Patch:
    def patch(op: Any, short: str) -> None:
        op.options[kind][index].name = short

    return patch
