"""SO215 table-rewrite-command: a command copies the whole table under ACCESS EXCLUSIVE.

## What it does
Flags, in ``RunSQL``, commands that rewrite a table or index into a new file
under ACCESS EXCLUSIVE: ``VACUUM FULL``, ``CLUSTER``, ``ALTER TABLE/INDEX
... SET TABLESPACE``, ``ALTER TABLE ... SET LOGGED/UNLOGGED`` and ``SET
ACCESS METHOD``. (Django itself never emits these: a change of a model's
``db_tablespace`` produces no migration SQL at all, so it cannot be seen.)

## Why is this bad?
The table is copied row by row and every index rebuilt while ACCESS
EXCLUSIVE is held: nothing can read or write it until the copy is done.

## Example
```python
operations = [migrations.RunSQL("VACUUM FULL orders_order")]
```

## Use instead
For bloat, an online tool (``pg_repack``, ``pg_squeeze``) or, on
PostgreSQL 19+, ``REPACK (CONCURRENTLY)``; for tablespaces, set
``default_tablespace`` for new objects and move old ones during a planned
window. Run maintenance outside the deploy pipeline.

## References
- https://www.postgresql.org/docs/current/sql-vacuum.html
- https://www.postgresql.org/docs/current/sql-cluster.html
- https://reorg.github.io/pg_repack/
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pglast import ast, enums

from schemaops.findings import BlockingStep, Finding
from schemaops.locks import Lock
from schemaops.rules import Rule, StatementContext
from schemaops.statements import relname
from schemaops.stats.model import Step

REWRITE = "while the whole table is copied and its indexes rebuilt"
ALTER_REWRITES = {
    "AT_SetTableSpace": "SET TABLESPACE",
    "AT_SetLogged": "SET LOGGED",
    "AT_SetUnLogged": "SET UNLOGGED",
    "AT_SetAccessMethod": "SET ACCESS METHOD",
}


class TableRewriteCommand(Rule):
    code = "SO215"
    name = "table-rewrite-command"
    summary = "VACUUM FULL, CLUSTER or SET TABLESPACE rewrites a table under lock"
    category = "locking"
    statements = ("VacuumStmt", "ClusterStmt", "AlterTableStmt")

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        for command, table in _rewrites(ctx.node):
            if ctx.is_new_table(table):
                continue
            yield self.finding(
                ctx,
                f"{command} rewrites {table or 'every table'} under ACCESS EXCLUSIVE: reads and "
                "writes wait for the whole copy",
                lock=Lock.ACCESS_EXCLUSIVE.on(table or "each table", REWRITE),
                blocking=BlockingStep(Step.REWRITE, table) if table else None,
                recipe="Use pg_repack / pg_squeeze (online) for bloat, or run it in a planned "
                "maintenance window outside the deploy; drop it from this migration.",
            )


def _rewrites(node: Any) -> Iterator[tuple[str, str | None]]:
    if isinstance(node, ast.VacuumStmt):
        if any(o.defname == "full" for o in node.options or ()):
            rels = [relname(r.relation) for r in node.rels or ()] or [None]
            for table in rels:
                yield "VACUUM FULL", table
    elif isinstance(node, ast.ClusterStmt):
        yield "CLUSTER", relname(node.relation)
    elif isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            action = ALTER_REWRITES.get(cmd.subtype.name)
            if action:
                kind = "INDEX" if node.objtype == enums.ObjectType.OBJECT_INDEX else "TABLE"
                yield f"ALTER {kind} ... {action}", relname(node.relation)
