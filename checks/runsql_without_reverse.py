"""SO302 runsql-without-reverse: raw SQL that cannot be rolled back.

## What it does
Flags ``RunSQL`` without ``reverse_sql``. When every statement has an
obvious inverse (``CREATE TABLE``/``INDEX``/``VIEW``/``TRIGGER``/``SEQUENCE``,
``ADD COLUMN``, ``ADD CONSTRAINT``, ``SET DEFAULT``...), the recipe writes
the ``reverse_sql`` for you.

## Why is this bad?
``migrate app <previous>`` raises ``IrreversibleError`` at this migration,
so a bad deploy cannot be rolled back past it, exactly when a quick rollback
matters most. Django cannot guess the inverse of raw SQL.

## Example
```python
operations = [migrations.RunSQL("CREATE INDEX CONCURRENTLY order_code_idx ON shop_order (code)")]
```

## Use instead
```python
migrations.RunSQL(
    "CREATE INDEX CONCURRENTLY order_code_idx ON shop_order (code)",
    reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS order_code_idx",
)
```
When undoing is not needed (a data fix), say so: ``reverse_sql=migrations.RunSQL.noop``.

## References
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#runsql
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations
from pglast import ast

from schemaops.checks._data import parsed_statements, runsql_texts
from schemaops.findings import Finding, Severity
from schemaops.rules import OperationContext, Rule
from schemaops.statements import AT, alter_commands, ident, names, relname


class RunSQLWithoutReverse(Rule):
    code = "SO302"
    name = "runsql-without-reverse"
    summary = "RunSQL without reverse_sql makes the migration irreversible"
    severity = Severity.WARNING
    category = "rollback"
    operations = (migrations.RunSQL,)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        op = ctx.operation
        if op.reverse_sql is not None or not runsql_texts(op.sql):
            return
        nodes = parsed_statements(op.sql)
        reverse = inverse(nodes) if nodes else None
        forward = runsql_texts(op.sql)
        sql = forward[0] if len(forward) == 1 else forward
        if reverse:
            recipe = f"migrations.RunSQL(\n    {sql!r},\n    reverse_sql={reverse!r},\n),"
        else:
            recipe = (
                f"migrations.RunSQL(\n    {sql!r},\n    reverse_sql=<SQL that undoes it>,\n    "
                "# or, when there is nothing to undo: reverse_sql=migrations.RunSQL.noop\n),"
            )
        yield self.finding(
            ctx,
            f"RunSQL has no reverse_sql: rolling back past {ctx.app_label}."
            f"{ctx.migration.name} raises IrreversibleError",
            recipe=recipe,
        )


# statement -> (what DROP drops, the attribute naming it)
_CREATED = {
    ast.CreateStmt: ("TABLE", "relation"),
    ast.CreateSeqStmt: ("SEQUENCE", "sequence"),
    ast.ViewStmt: ("VIEW", "view"),
}


def inverse(nodes: list[Any]) -> str | None:
    """SQL undoing every statement, in reverse order; None if one has no known inverse."""
    parts = []
    for node in reversed(nodes):
        undo = _undo(node)
        if undo is None:
            return None
        parts.extend(undo)
    return "; ".join(parts)


def _undo(node: Any) -> list[str] | None:
    if type(node) in _CREATED:
        kind, attr = _CREATED[type(node)]
        return [f"DROP {kind} IF EXISTS {ident(str(relname(getattr(node, attr))))}"]
    if isinstance(node, ast.IndexStmt) and node.idxname:
        how = "CONCURRENTLY " if node.concurrent else ""
        return [f"DROP INDEX {how}IF EXISTS {ident(str(node.idxname))}"]
    if isinstance(node, ast.CreateTrigStmt):
        table = ident(str(relname(node.relation)))
        return [f"DROP TRIGGER IF EXISTS {ident(str(node.trigname))} ON {table}"]
    if isinstance(node, ast.CreateExtensionStmt):
        return [f"DROP EXTENSION IF EXISTS {ident(str(node.extname))}"]
    if isinstance(node, ast.CreateEnumStmt):
        return [f"DROP TYPE IF EXISTS {'.'.join(ident(n) for n in names(node.typeName))}"]
    if isinstance(node, ast.AlterTableStmt):
        return _undo_alter(node)
    return None


def _undo_alter(node: Any) -> list[str] | None:
    out = []
    for table, cmd in reversed(list(alter_commands(node))):
        t = ident(str(table))
        if cmd.subtype == AT.AT_AddColumn:
            out.append(f"ALTER TABLE {t} DROP COLUMN IF EXISTS {ident(cmd.def_.colname)}")
        elif cmd.subtype == AT.AT_AddConstraint and cmd.def_.conname:
            out.append(f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {ident(cmd.def_.conname)}")
        elif cmd.subtype == AT.AT_ColumnDefault and cmd.def_ is not None:
            out.append(f"ALTER TABLE {t} ALTER COLUMN {ident(cmd.name)} DROP DEFAULT")
        else:
            return None
    return out
