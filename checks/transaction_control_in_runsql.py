"""SO403 transaction-control-in-runsql: BEGIN, COMMIT or ROLLBACK inside an atomic migration.

## What it does
Flags ``BEGIN``/``START TRANSACTION``, ``COMMIT``/``END``, ``ROLLBACK``,
``SAVEPOINT``, ``RELEASE`` and ``PREPARE TRANSACTION`` in the SQL (or
reverse SQL) of a ``RunSQL`` that runs inside Django's migration transaction
(an atomic migration, the default).

## Why is this bad?
Django already wraps an atomic migration in one transaction and records it
as applied at the end of that transaction. A ``COMMIT`` in the middle makes
everything before it permanent: if a later statement fails, the migration is
half-applied, not recorded, and re-running it fails on what already exists.
A ``ROLLBACK`` silently throws away the earlier operations and then runs the
rest outside any transaction. ``BEGIN`` only warns, but its ``COMMIT`` does
the damage; raw ``SAVEPOINT``/``RELEASE`` fight the savepoints Django
manages for you.

## Example
```python
migrations.RunSQL("BEGIN; UPDATE orders_order SET status = 'new'; COMMIT;")
```

## Use instead
Drop the transaction statements: the migration is one transaction already.
```python
migrations.RunSQL("UPDATE orders_order SET status = 'new'")
```
If the statements really must commit on their own, set ``atomic = False``
on the migration and keep explicit ``BEGIN``/``COMMIT`` there.

## References
- https://docs.djangoproject.com/en/stable/howto/writing-migrations/#non-atomic-migrations
- squawk ``transaction-nesting``
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import migrations
from pglast import ast, enums

from schemaops.findings import Finding, Severity
from schemaops.rules import OperationContext, Rule
from schemaops.statements import SQLSyntaxError, parse

KIND = enums.TransactionStmtKind
_WORDS = {
    KIND.TRANS_STMT_BEGIN: "BEGIN",
    KIND.TRANS_STMT_START: "START TRANSACTION",
    KIND.TRANS_STMT_COMMIT: "COMMIT",
    KIND.TRANS_STMT_ROLLBACK: "ROLLBACK",
    KIND.TRANS_STMT_SAVEPOINT: "SAVEPOINT",
    KIND.TRANS_STMT_RELEASE: "RELEASE",
    KIND.TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO SAVEPOINT",
    KIND.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
}


class TransactionControlInRunSQL(Rule):
    code = "SO403"
    name = "transaction-control-in-runsql"
    summary = "RunSQL runs BEGIN/COMMIT/ROLLBACK inside Django's migration transaction"
    severity = Severity.ERROR
    category = "rollback"
    on_empty_database = True  # PostgreSQL refuses the SQL on any database
    operations = (migrations.RunSQL,)

    def check_operation(self, ctx: OperationContext) -> Iterator[Finding]:
        if not ctx.in_transaction:
            return
        op = ctx.operation
        forward, backward = _control_words(op.sql), _control_words(op.reverse_sql)
        if not forward and not backward:
            return
        parts = []
        if forward:
            parts.append(f"sql runs {', '.join(forward)}")
        if backward:
            parts.append(f"reverse_sql runs {', '.join(backward)}")
        mig = ctx.migration
        yield self.finding(
            ctx,
            f"RunSQL in atomic migration {mig.app_label}.{mig.name}: {'; '.join(parts)}, "
            "inside Django's own transaction; a COMMIT makes the migration half-applied "
            "if a later statement fails",
        )  # the remedy (the same SQL without BEGIN/COMMIT) is the planner's


def _statements(sql: Any) -> list[Any]:
    """Parsed statements of RunSQL.sql / reverse_sql (unparsable text is SO901's business)."""
    if sql in (None, "", migrations.RunSQL.noop):
        return []
    items = (
        [sql] if isinstance(sql, str) else [i[0] if isinstance(i, list | tuple) else i for i in sql]
    )
    out: list[Any] = []
    for item in items:
        if not _may_control(str(item)):
            continue
        try:
            out.extend(s.node for s in parse(str(item)))
        except SQLSyntaxError:
            continue
    return out


# Every transaction statement starts with one of these words. This only spares
# parsing SQL that cannot hold one; whether it does is the parser's decision.
_KEYWORDS: tuple[str, ...] = ("BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT")
_KEYWORDS += ("SAVEPOINT", "RELEASE", "PREPARE")


def _may_control(text: str) -> bool:
    upper = text.upper()
    return any(word in upper for word in _KEYWORDS)


def _control_words(sql: Any) -> list[str]:
    words = [_WORDS.get(n.kind, "COMMIT") for n in _statements(sql) if _is_control(n)]
    return list(dict.fromkeys(words))


def _is_control(node: Any) -> bool:
    return isinstance(node, ast.TransactionStmt)
