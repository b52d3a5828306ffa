"""The remedy planner: one unsafe operation in, the safe expand/contract sequence out.

A :class:`Remedy` is a small plan: migrations to run before the deploy (that
only add and never block), what ``schemaops backfill`` must fill, and the
migrations to run after it (``deploy_phase = "post"``). Every migration keeps
the project state exactly where the original operation put it
(``SeparateDatabaseAndState``: the original operation as the state, the safe
statements as the database work), so ``makemigrations --check`` stays clean
and the final schema is the one the original migration makes.

Four kinds of operation have a remedy:

- changes where data must be filled (a per-row default, NOT NULL on an existing
  column, a data migration): :mod:`schemaops.remedy.fill`, with a
  ``schemaops backfill`` step between the pre- and post-deploy migrations;
- column type changes that rewrite the table (or rebuild its indexes, or
  re-validate its checks): :mod:`schemaops.remedy.retype`, the online type
  change through a shadow column swapped in after the deploy;
- schema changes whose statements lock (indexes, constraints, foreign keys,
  NOT NULL): Django's own statements rewritten by :mod:`schemaops.remedy.transform`;
- ``RunSQL``: the user's statements rewritten one by one (:mod:`schemaops.remedy.sqlops`);
- removals (``RemoveField``, ``DeleteModel``) outside a post-deploy migration:
  removed from the state before the deploy (and a NOT NULL column without a
  database default made nullable, so the new code's INSERTs work), dropped in
  the database after it;
- renames: the database name kept (:mod:`schemaops.remedy.rename`, join tables
  by :mod:`schemaops.remedy.jointables`), or a table renamed under a view of
  its old name (:mod:`schemaops.remedy.tableview`);
- a ``RunSQL`` changing columns views read: the views dropped and re-created
  around it (:mod:`schemaops.remedy.views`); a ``SeparateDatabaseAndState``
  whose database work is one ``RunSQL``: that RunSQL's remedy, the state kept
  (:mod:`schemaops.remedy.separate`); a ``RunSQL`` dropping columns or tables the
  models no longer use: the drop in a post-deploy migration
  (:mod:`schemaops.remedy.drops`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from schemaops.remedy.code import django_kind
from schemaops.remedy.rename import RENAMES, plan_rename
from schemaops.remedy.retype import plan_retype
from schemaops.remedy.sql import plan_runsql
from schemaops.remedy.transform import Rewritten, reversible, rewrite_nodes
from schemaops.statements import parse

if TYPE_CHECKING:
    from django.db.migrations.operations.base import Operation
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.sqlops import SqlFacts

CONTRACT = "expand-contract"
ADVICE = "advice"  # no lock-free form: the summary says what to do by hand
REMOVALS = ("RemoveField", "DeleteModel")
REWRITABLE = (
    "AddField",
    "AlterField",
    "AddIndex",
    "RemoveIndex",
    "AddConstraint",
    "AlterUniqueTogether",
    "AlterIndexTogether",
    "RenameIndex",
)


@dataclass(frozen=True)
class PlanContext:
    """What the planner knows of an operation besides the operation and the state before it.

    Built once per operation (:func:`schemaops.remedy.project.plan_project`) and handed
    unchanged to every planner entry (fill, rename, retype, RunSQL, statements).

    ``pg_version``: the target server, as ``server_version_num`` (150000);
    ``atomic``: the migration's own flag; ``post_phase``: the operation is already in a
    post-deploy migration, where removals belong; ``new_tables``: tables created earlier
    in the same migration (empty, so nothing on them needs care; the migration's own set,
    which a ``RunSQL``'s ``CREATE TABLE`` adds to); ``facts``: what earlier ``RunSQL``
    made (:class:`~schemaops.remedy.sqlops.SqlFacts`); ``sql``: the operation's SQL and
    its reverse's, when the caller has them already (``check`` generates them in its
    walk; None: generated where needed); ``statements``: a ``RunSQL``'s statements parsed
    (read only: the walk records its facts from the same nodes; None: parsed where
    needed, or unparsable). Frozen: planning one operation never changes
    what the next is planned with (the sets it holds are the walk's, not the plan's).
    """

    pg_version: int = 150000
    atomic: bool = True
    post_phase: bool = False
    new_tables: set[str] = field(default_factory=set)
    facts: SqlFacts | None = None
    sql: tuple[list[str], list[str]] | None = None
    statements: list[Any] | None = None

    def for_other_operation(self, **changes: Any) -> PlanContext:
        """The context to plan an operation the planner made up itself (a relaxed
        AlterField, a re-added CHECK, an index): the same server, nothing else of the
        original operation's (its SQL, its migration, its RunSQL facts), plus ``changes``."""
        return replace(PlanContext(pg_version=self.pg_version), **changes)


@dataclass
class MigrationSpec:
    """One migration of a remedy: its role (``expand``, ``validate``, ``contract``)
    and operations; ``atomic`` False for CONCURRENTLY; ``post`` for after the deploy."""

    role: str
    operations: list[Operation]
    atomic: bool = True
    post: bool = False


@dataclass
class Remedy:
    """The safe sequence for one operation; ``kind`` names the techniques used.

    A remedy of kind ``advice`` (no ``steps``) says what to do where no lock-free
    form exists; ``fix`` leaves such an operation as it is. (Other remedies without
    steps take the operation out of the migration: see :mod:`schemaops.remedy.fill`.)
    """

    kind: str
    summary: str
    steps: list[MigrationSpec] = field(default_factory=list)
    backfill: str | None = None
    # (class name, code) of a Backfill class `schemaops fix` adds to <app>/backfills.py
    backfill_class: tuple[str, str] | None = None
    # what the user must do besides the files (fix cannot edit models.py)
    instructions: list[str] = field(default_factory=list)

    @property
    def advice(self) -> bool:
        """No code: the summary says what must be done by hand (``fix`` writes nothing)."""
        return self.kind == ADVICE

    @property
    def pre(self) -> list[MigrationSpec]:
        return [s for s in self.steps if not s.post]

    @property
    def post(self) -> list[MigrationSpec]:
        return [s for s in self.steps if s.post]


def run_sql(forwards: list[str], backwards: list[str] | None = None) -> Operation:
    """``RunSQL`` of statements; no ``backwards``: nothing to undo (``RunSQL.noop``)."""
    from django.db import migrations

    sql: list[Any] = list(forwards)
    reverse: list[Any] | str = list(backwards) if backwards else migrations.RunSQL.noop
    return migrations.RunSQL(sql, reverse_sql=reverse)


def plan_operation(
    op: Operation,
    app_label: str,
    state: ProjectState,
    context: PlanContext | None = None,
) -> Remedy | None:
    """The remedy for ``op`` run on ``state`` (the state before it), or None when the
    operation is safe as written or has no remedy the planner knows.

    ``context``: the operation's migration, server and SQL (:class:`PlanContext`; None:
    a fresh default one, PostgreSQL 15, an atomic pre-deploy migration, nothing known).
    """
    try:
        return _plan_operation(op, app_label, state, context or PlanContext())
    except Exception:  # odd input (a project's own operation, SQL pglast cannot print): no remedy
        return None


def _plan_operation(
    op: Operation, app_label: str, state: ProjectState, context: PlanContext
) -> Remedy | None:
    from schemaops.remedy.fill import plan_fill

    filled = plan_fill(op, app_label, state, context)
    if filled is not None:  # data to fill: see schemaops.remedy.fill
        return filled
    kind = django_kind(op)
    if kind == "SeparateDatabaseAndState":  # its one RunSQL, planned as a top-level one
        from schemaops.remedy.separate import plan_separate

        # the inner operation has SQL of its own, not the wrapper's
        inner_context = replace(context, sql=None)
        return plan_separate(
            op, lambda inner: _plan_operation(inner, app_label, state, inner_context)
        )
    if kind == "AlterModelTable":  # the table renamed, a view under the old name
        from schemaops.remedy.tableview import plan_table_rename

        return plan_table_rename(op, app_label, state, context.new_tables, context.post_phase)
    if kind in RENAMES and (renamed := plan_rename(op, app_label, state, context)):
        return renamed
    if type(op).__name__ == "ValidateConstraint":
        from schemaops.remedy.sqlops import plan_validate

        return plan_validate(op, app_label, state, context)
    if kind == "RunSQL":
        from schemaops.remedy.sqlops import plan_runsql as plan_sql_statements
        from schemaops.remedy.views import plan_view_dependents

        if viewed := plan_view_dependents(op, state, context.facts, context.pg_version):
            return viewed  # columns views read: the views dropped and re-created around
        from schemaops.remedy.drops import plan_sql_drops

        if dropped := plan_sql_drops(op, app_label, state, context):
            return dropped  # what the models no longer use: dropped after the deploy

        # statement by statement (sqlops); what it leaves, the index/constraint plan
        return plan_sql_statements(op, app_label, state, context) or plan_runsql(op, context)
    if kind in REMOVALS and not context.post_phase:
        return _contract(op, app_label, state, context)
    if kind not in REWRITABLE or not op.reduces_to_sql:
        return None
    if (retyped := plan_retype(op, app_label, state, context)) is not None:
        return retyped
    from schemaops.plan import operation_sql

    try:
        forwards, backwards = context.sql or operation_sql(op, app_label, state, context.pg_version)
    except Exception:  # SQL that needs the database, or a broken state: no remedy
        return None
    nodes = [stmt.node for text in forwards for stmt in parse(text)]
    beyond = _beyond_transform(nodes, context)  # read before rewrite_nodes changes them
    done = rewrite_nodes(nodes, set(context.new_tables))
    if done.contract and callable(getattr(getattr(op, "field", None), "default", None)):
        return None  # one computed value as every old row's DEFAULT: not a remedy
    if not done.techniques or beyond:
        from schemaops.remedy.sqlops import plan_statements

        # a copy of new_tables: Django's statements create no table the migration sees
        own = replace(context, new_tables=set(context.new_tables))
        return plan_statements(op, forwards, backwards, app_label, state, own)
    return _rewritten(op, done, backwards, context.post_phase)


def _beyond_transform(nodes: list[Any], context: PlanContext) -> bool:
    """Do Django's statements (``nodes``, parsed) hold what only the statement planner
    rewrites: an index on a partitioned table (CONCURRENTLY fails there), or a primary key
    built under ACCESS EXCLUSIVE?"""
    from pglast import ast, enums

    from schemaops.statements import relname

    partitioned = getattr(context.facts, "partitions", None) or {}
    for node in nodes:
        if isinstance(node, ast.IndexStmt) and relname(node.relation) in partitioned:
            return True
        if not isinstance(node, ast.AlterTableStmt):
            continue
        if relname(node.relation) in context.new_tables:
            continue
        for cmd in node.cmds or ():
            con = cmd.def_ if cmd.subtype == enums.AlterTableType.AT_AddConstraint else None
            if con is not None and con.contype == enums.ConstrType.CONSTR_PRIMARY:
                return not con.indexname
    return False


def _rewritten(op: Operation, done: Rewritten, backwards: list[str], post: bool) -> Remedy:
    from django.db import migrations

    reverse = [*done.undo_before, *reversible(backwards), *done.undo_after]
    # the state follows the database: a CHECK (col IS NOT NULL) is a constraint of the
    # model until SET NOT NULL replaces it, so later migrations (and rules) see it
    checks, uncheck = _not_null_check_states(op, done)
    expand = migrations.SeparateDatabaseAndState(
        state_operations=checks or [op],
        database_operations=[run_sql(done.expand, reverse)],
    )
    steps = [MigrationSpec("expand", [expand], atomic=not done.concurrent, post=post)]
    if done.validate:
        validate: Operation = run_sql(done.validate)
        if checks:
            validate = migrations.SeparateDatabaseAndState(
                state_operations=[op, *uncheck], database_operations=[validate]
            )
        steps.append(MigrationSpec("validate", [validate], post=post))
    if done.contract:
        contract = run_sql(done.contract, done.contract_undo)
        steps.append(MigrationSpec("contract", [contract], post=True))
    summary = "; ".join(_SUMMARIES[t] for t in done.techniques)
    backfill = None
    if done.fills:
        backfill = (
            "the expand migration fills existing NULLs with one UPDATE; on a large table "
            "fill them first with `schemaops backfill` in batches"
        )
    return Remedy("+".join(done.techniques), summary, steps, backfill)


def _not_null_check_states(op: Any, done: Rewritten) -> tuple[list[Any], list[Any]]:
    """AddConstraint / RemoveConstraint state operations for the NOT NULL checks of an
    AlterField (empty for other operations)."""
    from django.db import migrations, models

    if django_kind(op) != "AlterField" or not done.not_null_checks:
        return [], []
    add, remove = [], []
    for _table, _column, name in done.not_null_checks:
        condition = models.Q(**{f"{op.name}__isnull": False})
        check = models.CheckConstraint(condition=condition, name=name)
        add.append(migrations.AddConstraint(op.model_name, check))
        remove.append(migrations.RemoveConstraint(op.model_name, name))
    return add, remove


_SUMMARIES = {
    "concurrent-index": "build/drop indexes CONCURRENTLY in a non-atomic migration",
    "not-valid-then-validate": "add constraints NOT VALID, VALIDATE them in the next migration",
    "unique-using-index": "build the unique index CONCURRENTLY, attach it with UNIQUE USING INDEX",
    "db-default-until-deployed": "keep the column's DEFAULT in the database until the new "
    "code is live (the old code inserts without it); drop it after the deploy",
    "not-null-by-check": "prove NOT NULL with a validated CHECK first, so SET NOT NULL skips "
    "the scan",
}


def _contract(op: Any, app_label: str, state: ProjectState, context: PlanContext) -> Remedy | None:
    from django.db import migrations
    from django.db.models.fields import NOT_PROVIDED

    from schemaops.columns import has_column
    from schemaops.plan import column_for, db_table_for, operation_sql

    try:
        drop, restore = context.sql or operation_sql(op, app_label, state, context.pg_version)
    except Exception:
        return None
    relax: list[str] = []
    tighten: list[str] = []
    if django_kind(op) == "RemoveField":
        model = state.models[(app_label, op.model_name_lower)]
        f = model.fields.get(op.name)
        keeps_inserts_failing = (
            f is not None
            and has_column(f)  # a many-to-many field's join table has no column to relax
            and not f.null
            and getattr(f, "db_default", NOT_PROVIDED) is NOT_PROVIDED
        )
        if keeps_inserts_failing:
            from schemaops.remedy.drops import keep_insertable

            # the field's constant default as DEFAULT, else DROP NOT NULL (the old code
            # then reads the NULLs the new code inserts)
            forward, undo = keep_insertable(
                state,
                (app_label, op.model_name_lower, op.name),
                f,
                db_table_for(app_label, model.name, model.options),
                column_for(op.name, f),
                context.pg_version,
            )
            relax.append(forward)
            tighten.append(undo)
    database = [run_sql(relax, tighten)] if relax else []
    expand = migrations.SeparateDatabaseAndState(
        state_operations=[op], database_operations=database
    )
    contract = run_sql(drop, restore)
    what = "column" if django_kind(op) == "RemoveField" else "table"
    summary = (
        f"remove the {what} from the models before the deploy"
        + (" (with a DEFAULT or nullable, so the new code's INSERTs work)" if relax else "")
        + f"; drop the {what} in a post-deploy migration, once no running code uses it"
    )
    steps = [MigrationSpec("expand", [expand]), MigrationSpec("contract", [contract], post=True)]
    return Remedy(CONTRACT, summary, steps)
