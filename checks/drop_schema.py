"""SO115 drop-schema: DROP SCHEMA ... CASCADE deletes every object in the schema.

## What it does
Flags ``DROP SCHEMA ... CASCADE`` in ``RunSQL``. A schema created earlier in
the same migration is exempt. A plain ``DROP SCHEMA`` (``RESTRICT``) is not
flagged: PostgreSQL refuses to drop a schema that still holds anything.

## Why is this bad?
``CASCADE`` drops every table, view, sequence, function and type in the
schema, and whatever outside it depends on them (views, foreign keys),
without listing them. The data is gone: rolling the migration back does
not bring it back. Each dropped table is locked ACCESS EXCLUSIVE until the
migration commits, and the running code, which still uses those tables,
fails as soon as it commits.

## Example
```python
operations = [migrations.RunSQL("DROP SCHEMA reporting CASCADE")]
```

## Use instead
Stop using the schema in the code first. Then, in a post-deploy migration,
drop its tables explicitly (``DeleteModel`` or ``DROP TABLE``, reviewed one
by one) and finish with ``DROP SCHEMA ... RESTRICT``, which fails if
anything was forgotten.

## References
- https://www.postgresql.org/docs/current/sql-dropschema.html
- https://squawkhq.com/docs/ban-drop-database (the same reasoning, one level down)
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import enums

from schemaops.checks._analysis import created_earlier
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import Rule, StatementContext
from schemaops.statements import names


class DropSchema(Rule):
    code = "SO115"
    name = "drop-schema"
    summary = "DROP SCHEMA ... CASCADE deletes every object in the schema"
    category = "additive"
    statements = ("DropStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        if node.removeType != enums.ObjectType.OBJECT_SCHEMA:
            return
        if node.behavior != enums.DropBehavior.DROP_CASCADE:
            return
        schemas = [s for s in names(node.objects) if not created_earlier(ctx, "schema", s)]
        if not schemas:
            return
        listed = ", ".join(schemas)
        lock = Lock.ACCESS_EXCLUSIVE
        yield self.finding(
            ctx,
            f"DROP SCHEMA {listed} CASCADE deletes every table and object in it, unlisted and "
            "beyond rollback, while the running code still uses them",
            lock=f"{lock.value} on every table in {listed} (blocks {lock.blocks}) until commit",
        )
