"""SO210 concurrently-in-atomic-migration: CONCURRENTLY inside a transaction fails.

## What it does
Flags ``AddIndexConcurrently`` / ``RemoveIndexConcurrently`` and ``RunSQL``
with ``CREATE INDEX CONCURRENTLY``, ``DROP INDEX CONCURRENTLY``, ``REINDEX
... CONCURRENTLY`` or ``DETACH PARTITION ... CONCURRENTLY`` in a migration
that runs in a transaction (``atomic = True``, Django's default).

## Why is this bad?
PostgreSQL refuses these commands inside a transaction block ("cannot run
inside a transaction block"), and Django refuses the concurrent index
operations in an atomic migration: the deploy fails at migrate time, after
earlier migrations have already been applied.

## Example
```python
class Migration(migrations.Migration):
    operations = [AddIndexConcurrently("order", models.Index(fields=["created"], name="i"))]
```

## Use instead
Set ``atomic = False`` on the migration (and keep the other operations of
that migration few and idempotent: each one now commits on its own), or move
the operation to a non-atomic migration of its own, which ``schemaops fix``
writes where the operation stands alone (not inside a
``SeparateDatabaseAndState`` or a squashed migration).

## References
- https://docs.djangoproject.com/en/stable/ref/contrib/postgres/operations/#concurrent-index-operations
- https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
"""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently

from schemaops.checks._lockmap import operation_locks, statement_locks
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.remedy.sqlops import runs_outside_transaction as concurrent_command
from schemaops.rules import OperationContext, Rule, StatementContext


class ConcurrentlyInAtomicMigration(Rule):
    code = "SO210"
    name = "concurrently-in-atomic-migration"
    summary = "CONCURRENTLY runs inside a transaction, which PostgreSQL refuses"
    category = "locking"
    on_empty_database = True  # PostgreSQL refuses the SQL on any database
    operations = (AddIndexConcurrently, RemoveIndexConcurrently)
    statements = ("IndexStmt", "DropStmt", "ReindexStmt", "AlterTableStmt")

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        if not ctx.in_transaction:
            return
        op = ctx.operation
        what = f"{type(op).__name__} {getattr(op, 'name', None) or op.index.name}"
        yield self._finding(ctx, what, _lock(operation_locks(ctx)))

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        command = concurrent_command(ctx.node)
        if command is None or not ctx.in_transaction:
            return
        yield self._finding(ctx.operation, f"RunSQL {command}", _lock(statement_locks(ctx.node)))

    def _finding(self, ctx: OperationContext, what: str, lock: str | None) -> Finding:
        mig = ctx.migration
        return self.finding(
            ctx,
            f"{what} cannot run inside a transaction, and migration {mig.app_label}."
            f"{mig.name} is atomic: it fails at migrate time",
            lock=lock,
            # the planner's remedy (the operation in a migration of its own) replaces this
            # where it has one; a SeparateDatabaseAndState or a squashed migration has none
            recipe=(
                f"# {mig.app_label}/migrations/{mig.name}.py: CONCURRENTLY runs outside a "
                "transaction\nclass Migration(migrations.Migration):\n"
                "    atomic = False  # each operation now commits on its own\n"
                "    # ... dependencies and operations unchanged"
            ),
        )


def _lock(claims: list[tuple[str, Lock, bool]]) -> str | None:
    if not claims:
        return None
    table, lock, _slow = claims[0]
    return lock.on(table, "once it runs outside a transaction")
