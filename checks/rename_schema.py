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

from schemaops.checks._lockrecipes import run_sql
from schemaops.checks._objects import created_earlier
from schemaops.findings import Finding
from schemaops.remedy.code import join_steps, migration_code
from schemaops.rules import Rule, StatementContext
from schemaops.statements import ident


class RenameSchema(Rule):
    code = "SO114"
    name = "rename-schema"
    summary = "A schema is renamed while the old code still uses the old name"
    category = "additive"
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
            recipe=_recipe(ctx, old, new),
        )


def _recipe(ctx: StatementContext, old: str, new: str) -> str:
    expand = migration_code(
        ctx.operation,
        [
            run_sql(
                f"CREATE SCHEMA IF NOT EXISTS {ident(new)}", f"DROP SCHEMA IF EXISTS {ident(new)}"
            )
        ],
        name=f"create_schema_{new}",
    )
    contract = migration_code(
        ctx.operation,
        [run_sql(f"DROP SCHEMA {ident(old)} RESTRICT", f"CREATE SCHEMA {ident(old)}")],
        name=f"drop_schema_{old}",
        phase="post",
        after=f"create_schema_{new}",
    )
    return join_steps(
        f"# 1. create the new schema\n{expand}",
        f"# 2. deploy code that searches both: DATABASES[...]['OPTIONS'] = "
        f"{{'options': '-c search_path={ident(new)},{ident(old)},public'}}\n"
        f"# 3. move each object (brief ACCESS EXCLUSIVE each), one migration per table:\n"
        f"#    ALTER TABLE {ident(old)}.<table> SET SCHEMA {ident(new)}",
        "# 4. post-deploy: drop the old schema (RESTRICT fails if anything is left in it)",
        contract,
    )
