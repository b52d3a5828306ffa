"""SO114 rename-schema: a schema is renamed while the old code still uses its name.

## What it does
Flags ``ALTER SCHEMA ... RENAME TO`` in ``RunSQL``. A schema created earlier
in the same migration is exempt.

## Why is this bad?
The rename is instant and takes no table lock, but every table, view,
function and sequence in the schema changes its qualified name at once.
The previous release, still serving requests during the rollout, reaches
them through the old name (``search_path`` or schema-qualified SQL): its
queries fail with ``relation does not exist`` until the new code is
everywhere, and a code rollback breaks the same way.

## Example
```python
operations = [migrations.RunSQL("ALTER SCHEMA reporting RENAME TO analytics")]
```

## Use instead
Create the new schema, deploy code whose ``search_path`` lists both schemas
(new first), move the objects one at a time with ``ALTER TABLE ... SET
SCHEMA`` (a brief ACCESS EXCLUSIVE lock each; unqualified queries find the
table in either schema), then drop the empty old schema in a post-deploy
migration.

## References
- https://www.postgresql.org/docs/current/sql-alterschema.html
- https://github.com/ankane/strong_migrations (``rename_schema``)
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import enums

from schemaops.checks._analysis import created_earlier
from schemaops.findings import Finding
from schemaops.rules import Rule, StatementContext


class RenameSchema(Rule):
    code = "SO114"
    name = "rename-schema"
    summary = "A schema is renamed while the old code still uses the old name"
    category = "breaking"
    statements = ("RenameStmt",)

    def check_statement(self, ctx: StatementContext) -> Iterator[Finding]:
        node = ctx.node
        if node.renameType != enums.ObjectType.OBJECT_SCHEMA:
            return
        old, new = str(node.subname), str(node.newname)
        if created_earlier(ctx, "schema", old):
            return
        yield self.finding(
            ctx,
            f"ALTER SCHEMA {old} RENAME TO {new}: every object in it changes its qualified name "
            f"at once, and the running code still looks in {old}",
        )  # the remedy (the steps to move objects one by one) is the planner's advice
