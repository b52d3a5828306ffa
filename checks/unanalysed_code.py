"""SO904 unanalysed-code: SQL that runs where schemaops cannot read it.

## What it does
Flags the parts of a migration whose statements schemaops cannot see, so
that a clean check is not mistaken for a safe migration:

- in a ``DO $$ ... $$`` block, ``EXECUTE`` of SQL built at run time, a body
  in a language other than PL/pgSQL, or a body that does not parse (the
  block's plain statements and ``EXECUTE 'constant'`` are read and checked
  like any other SQL);
- ``CALL`` of a procedure, whose body is not part of the migration;
- ``RunPython`` code that runs SQL itself other than as a literal
  (``schema_editor.execute(sql)`` with a built string, ``cursor.execute(...)``);
  a literal ``schema_editor.execute("...")`` is read and checked like a
  ``RunSQL``.

## Why is this bad?
Every lock and rewrite rule reads a Django operation it knows or the SQL a
statement spells out. SQL assembled at run time or hidden in Python can
take an ACCESS EXCLUSIVE lock, rewrite a table or drop a column, and the
check would still pass without this finding.

## Example
```python
def add_column(apps, schema_editor):
    table = apps.get_model("shop", "Order")._meta.db_table
    schema_editor.execute(f"ALTER TABLE {table} ADD COLUMN note text NOT NULL DEFAULT ''")

operations = [migrations.RunPython(add_column, migrations.RunPython.noop)]
```

## Use instead
Write the statements out: a ``RunSQL`` (every rule reads it), or a DO block
whose statements are plain SQL. Otherwise see what it really locks on a
scratch database with ``schemaops trace APP MIGRATION``, and suppress this
finding with the reason you trust it.

## References
- https://www.postgresql.org/docs/current/sql-do.html
- https://www.postgresql.org/docs/current/plpgsql-statements.html#PLPGSQL-STATEMENTS-EXECUTING-DYN
- https://docs.djangoproject.com/en/stable/ref/migration-operations/#runpython
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db import migrations

from schemaops.checks._data import global_names, unwrap
from schemaops.findings import Finding, Severity
from schemaops.plpgsql import read_do_block
from schemaops.pycode import executed_sql
from schemaops.rules import OperationContext, Rule, StatementContext
from schemaops.statements import names


class UnanalysedCode(Rule):
    code = "SO904"
    name = "unanalysed-code"
    summary = "SQL runs where schemaops cannot read it (dynamic SQL, RunPython)"
    severity = Severity.WARNING
    category = "meta"
    operations = (migrations.RunPython,)
    statements = ("DoStmt", "CallStmt")

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        if ctx.kind == "CallStmt":
            call = ctx.node.funccall
            what = ".".join(names(call.funcname)) if call is not None else "a procedure"
            yield self._finding(ctx, f"CALL {what} runs a procedure whose body is not analysed")
            return
        unreadable = read_do_block(ctx.node).unreadable
        if unreadable:
            listed = "; ".join(dict.fromkeys(unreadable))
            yield self._finding(ctx, f"a DO block runs {listed}: those statements are not analysed")

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        code = ctx.operation.code
        if "execute" not in global_names(code):
            return
        if not executed_sql(code)[1]:
            return  # only literal schema_editor.execute("..."): the statement rules read it
        name = getattr(unwrap(code), "__qualname__", "the function")
        yield self._finding(
            ctx,
            f"RunPython {name} runs SQL itself (schema_editor.execute / cursor.execute): "
            "its statements are not analysed",
        )

    def _finding(self, ctx: OperationContext | StatementContext, what: str) -> Finding:
        mig = ctx.migration
        return self.finding(
            ctx,
            f"{what}, so no lock or rewrite rule checked them",
            recipe="Write the statements out as RunSQL, or see their locks on a scratch "
            f"database: schemaops trace {mig.app_label} {mig.name}",
        )
