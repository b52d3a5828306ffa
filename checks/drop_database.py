"""SO307 drop-database: a migration drops a whole database.

## What it does
Flags ``DROP DATABASE`` in ``RunSQL``, in any migration, pre- or post-deploy.

## Why is this bad?
Every table of that database is gone, beyond any rollback, and whatever
still connects to it fails. Inside a transaction (an atomic migration,
Django's default) PostgreSQL refuses to run it, so the deploy fails; in a
non-atomic migration it succeeds, on every environment the migration
reaches, including ones where nobody meant it to.

## Example
```python
operations = [migrations.RunSQL("DROP DATABASE legacy_reports")]
```

## Use instead
Leave databases out of migrations. Drop one by hand, once, after a backup
and after checking nothing connects to it (``pg_stat_activity``).

## References
- https://www.postgresql.org/docs/current/sql-dropdatabase.html
- https://squawkhq.com/docs/ban-drop-database
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from schemaops.findings import Finding
from schemaops.rules import Rule, StatementContext


class DropDatabase(Rule):
    code = "SO307"
    name = "drop-database"
    summary = "A migration drops a whole database"
    category = "rollback"
    statements = ("DropdbStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        db = str(ctx.node.dbname)
        quoted = shlex.quote(db)  # for the shell
        where = " (PostgreSQL refuses it inside this migration's transaction)"
        yield self.finding(
            ctx,
            f"DROP DATABASE {db} deletes a whole database beyond any rollback"
            + (where if ctx.in_transaction else ""),
            recipe=(
                f"# remove this statement from the migration; drop the database by hand, once,\n"
                f"# after a backup (pg_dump -Fc {quoted}) and once pg_stat_activity shows "
                "no client:\n"
                f"#    dropdb --if-exists {quoted}"
            ),
        )
