"""Recipes of the rules whose change must wait for the new code (expand-contract).

The breaking rules that drop something (SO101, SO102): pre-deploy, the field or
model leaves Django's state only (the running code keeps its column or table);
post-deploy, once no server runs the old code, raw SQL drops it. The additive
rules that relax a column (SO110, SO112): the same AlterField, post-deploy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from schemaops.remedy.code import field_code, join_steps, migration_code
from schemaops.rules import OperationContext


def state_then_drop(
    ctx: OperationContext,
    what: str,
    state_op: str,
    statements: Sequence[str],
    notes: tuple[str, str],
    database_ops: Sequence[str] | None = None,
) -> str:
    """Two migrations: ``remove_<what>_from_state`` (``state_op`` in
    ``SeparateDatabaseAndState``, with ``database_ops`` when given, even none) and the
    post-deploy ``drop_<what>`` that runs ``statements`` (one: a plain string; more: a
    list), each headed by its comment line in ``notes``."""
    pre = [
        "migrations.SeparateDatabaseAndState(",
        f"    state_operations=[{state_op}],",
    ]
    if database_ops is not None:
        pre += [
            "    database_operations=[",
            *["        " + line for op in database_ops for line in op.splitlines()],
            "    ],",
        ]
    pre.append("),")
    if len(statements) == 1:
        sql = [f"    {statements[0]!r},"]
    else:
        sql = ["    [", *[f"        {s!r}," for s in statements], "    ],"]
    post = ["migrations.RunSQL(", *sql, "    reverse_sql=migrations.RunSQL.noop,", "),"]
    removed = f"remove_{what}_from_state"
    return join_steps(
        notes[0],
        migration_code(ctx, pre, name=removed),
        notes[1],
        migration_code(ctx, post, name=f"drop_{what}", phase="post", after=removed),
    )


def alter_after_deploy(ctx: OperationContext, op: Any, code_first: str, suffix: str) -> str:
    """The AlterField ``op`` in a post-deploy migration ``<model>_<field>_<suffix>``,
    after code that ``code_first`` is deployed."""
    return f"# deploy code that {code_first} first, then, post-deploy:\n" + migration_code(
        ctx,
        [f'migrations.AlterField("{op.model_name}", "{op.name}", {field_code(op.field)}),'],
        name=f"{op.model_name}_{op.name}_{suffix}",
        phase="post",
    )
