"""``RunSQL`` through the planner: the user's own statements, rewritten one by one.

The same rule as for Django's operations (:mod:`schemaops.remedy.transform`):
nothing is invented, each statement only changes how it takes its locks, on
the pglast AST. Statements that are safe pass through unchanged, in order.

- ``CREATE INDEX``: ``CONCURRENTLY IF NOT EXISTS``, after ``DROP INDEX
  CONCURRENTLY IF EXISTS`` of the same name (a failed concurrent build leaves
  an INVALID index behind, which ``IF NOT EXISTS`` alone would keep); on a
  partitioned table: ``ON ONLY`` the parent, each partition's index built
  concurrently and attached;
- ``DROP INDEX``, ``REINDEX``, ``DETACH PARTITION``: ``CONCURRENTLY``;
- ``ADD CONSTRAINT`` ``CHECK`` / ``FOREIGN KEY`` / ``UNIQUE``, ``SET NOT NULL``
  and the rest of ``ALTER TABLE``: through ``transform.rewrite`` (NOT VALID then
  VALIDATE, UNIQUE USING INDEX, the NOT NULL proof); ``PRIMARY KEY``: its unique
  index concurrently, NOT NULL proved, then ``PRIMARY KEY USING INDEX``;
- ``REFRESH MATERIALIZED VIEW``: ``CONCURRENTLY`` when a unique index on the
  view is known (otherwise the remedy says so);
- ``ALTER DOMAIN ... ADD CONSTRAINT``: ``NOT VALID``; before PostgreSQL 19
  (where ``VALIDATE`` on a domain takes SHARE on every table using it) the
  existing values are proved with a NOT VALID + VALIDATE table CHECK on each
  column of the domain, dropped once proved; from 19 on, ``VALIDATE``;
- ``ALTER TYPE ... ADD VALUE``: ``IF NOT EXISTS``, placed ``AFTER`` the last
  known label (where it goes anyway, now written down); ``RENAME VALUE``: the
  new label added next to the old one, the rows moved by ``schemaops backfill``;
- column types: ``json`` -> ``jsonb``, ``timestamp`` -> ``timestamptz``,
  ``char(n)`` / ``varchar(n)`` -> ``text`` with a ``char_length`` CHECK;
- ``BEGIN`` / ``COMMIT`` in an atomic migration: left out (it is one
  transaction already); ``VALIDATE CONSTRAINT`` of a constraint the same
  ``RunSQL`` added ``NOT VALID``: moved to the next migration.

Statements that must run outside a transaction go into migrations with
``atomic = False``; the others stay in atomic ones, so a ``RunSQL`` mixing
both is split in order. The statements of a ``DO`` block without control
flow are rewritten the same way (a DO block cannot hold ``CONCURRENTLY``).
What has no lock-free form (exclusion constraints, ``LOCK TABLE``, renaming
or dropping a schema, generated and serial columns) is kept and named in the
remedy's summary.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pglast import ast, enums

from schemaops.remedy.transform import (
    deparse,
    reindex_concurrent,
    reversible,
    rewrite,
    runs_outside_transaction,
)
from schemaops.statements import AT, CONSTR, SQLSyntaxError, ident, names, parse, relname

if TYPE_CHECKING:
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import PlanContext, Remedy

CONCURRENT = "concurrent-index"
CONCURRENT_COMMAND = "concurrently"
PARTITIONED_INDEX = "partitioned-index"
DOMAIN_PROOF = "domain-constraint-not-valid"
ENUM_POSITION = "enum-value-placed"
ENUM_RENAME = "enum-label-added-then-backfilled"
BETTER_TYPE = "better-column-type"
NO_TRANSACTION_CONTROL = "no-transaction-control"
VALIDATE_LATER = "validate-in-next-migration"
REVERSE_SQL = "reverse-sql-written"
NON_ATOMIC = "non-atomic-migration"
ADVICE = "advice"

SUMMARIES = {
    CONCURRENT_COMMAND: "REINDEX / DETACH PARTITION / REFRESH CONCURRENTLY (outside a transaction)",
    PARTITIONED_INDEX: "index the partitioned table ON ONLY, build each partition's index "
    "CONCURRENTLY and attach it",
    DOMAIN_PROOF: "add the domain constraint NOT VALID and prove the existing values without a "
    "write-blocking scan",
    ENUM_POSITION: "add the enum value IF NOT EXISTS with its position written down",
    ENUM_RENAME: "add the new enum label next to the old one; move the rows with "
    "`schemaops backfill` (PostgreSQL cannot drop the old label)",
    BETTER_TYPE: "declare json as jsonb, timestamp as timestamptz, char(n)/varchar(n) as text "
    "with a length CHECK",
    NO_TRANSACTION_CONTROL: "leave out BEGIN/COMMIT: the migration is one transaction already",
    VALIDATE_LATER: "VALIDATE the NOT VALID constraint in the next migration",
    NON_ATOMIC: "run the CONCURRENTLY statements in a migration with atomic = False",
    REVERSE_SQL: "reverse_sql written (every statement has a known inverse)",
}

DOMAIN_VALIDATE_ONLINE = 19  # PostgreSQL 19: VALIDATE on a domain takes SHARE UPDATE EXCLUSIVE


@dataclass
class SqlFacts:
    """What earlier ``RunSQL`` made that the state does not say, for the planner.

    ``unique_indexes``: relation -> names of plain unique indexes (what a
    concurrent refresh of a materialized view needs); ``enum_labels``: the
    labels of enum types in order; ``typed_columns``: type name -> (table,
    column) declared with it in SQL; ``partitions``: partitioned table -> its
    partitions; ``views``: the views, with their definitions.
    """

    unique_indexes: dict[str, set[str]] = field(default_factory=dict)
    enum_labels: dict[str, list[str]] = field(default_factory=dict)
    typed_columns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    partitions: dict[str, list[str]] = field(default_factory=dict)
    # (table, constraint) added NOT VALID earlier in the migration being walked
    not_valid: set[tuple[str, str]] = field(default_factory=set)
    # views RunSQL created, by name (schemaops.remedy.views)
    views: dict[str, Any] = field(default_factory=dict)

    def start_migration(self) -> None:
        self.not_valid = set()

    def record(
        self, op: Any, app_label: str = "", state: Any = None, statements: list[Any] | None = None
    ) -> None:
        """Record the statements of a ``RunSQL`` (other operations are Django's to know),
        and the constraints ``AddConstraintNotValid`` adds; ``state``: the one before ``op``;
        ``statements``: the ``RunSQL``'s :func:`statement_nodes`, when parsed already."""
        from django.db import migrations

        if type(op).__name__ == "AddConstraintNotValid" and state is not None:
            from schemaops.plan import db_table_for

            model = state.models.get((app_label, str(op.model_name).lower()))
            if model is not None:
                table = db_table_for(app_label, model.name, model.options)
                self.not_valid.add((table, str(op.constraint.name)))
        if isinstance(op, migrations.SeparateDatabaseAndState):
            for child in op.database_operations:
                self.record(child)
        if not isinstance(op, migrations.RunSQL):
            return
        for node in (statements if statements is not None else statement_nodes(op.sql)) or ():
            try:
                self.record_node(node)
            except Exception:  # a statement of a shape no fact is read from
                continue

    def record_node(self, node: Any) -> None:
        from schemaops.columns import declared_columns
        from schemaops.remedy.views import record_view

        record_view(self.views, node)

        if isinstance(node, ast.IndexStmt) and node.unique and not node.whereClause:
            if node.idxname and all(p.name for p in node.indexParams or ()):
                self.unique_indexes.setdefault(str(relname(node.relation)), set()).add(
                    str(node.idxname)
                )
        elif isinstance(node, ast.CreateEnumStmt):
            self.enum_labels[names(node.typeName)[-1]] = [str(v.sval) for v in node.vals or ()]
        elif isinstance(node, ast.AlterEnumStmt):
            _record_enum(self.enum_labels.get(names(node.typeName)[-1]), node)
        elif isinstance(node, ast.CreateStmt):
            table = str(relname(node.relation))
            if node.partspec is not None:
                self.partitions.setdefault(table, [])
            for parent in node.inhRelations or () if node.partbound is not None else ():
                self.partitions.setdefault(str(relname(parent)), []).append(table)
        if isinstance(node, ast.AlterTableStmt):
            for cmd in node.cmds or ():
                if cmd.subtype == AT.AT_AddConstraint and cmd.def_.skip_validation:
                    self.not_valid.add((str(relname(node.relation)), str(cmd.def_.conname)))
                if cmd.subtype == AT.AT_AttachPartition:
                    parent = str(relname(node.relation))
                    self.partitions.setdefault(parent, []).append(str(relname(cmd.def_.name)))
        for col in declared_columns(node):
            self.typed_columns.setdefault(col.base, []).append((col.table, col.column))


def _record_enum(labels: list[str] | None, node: Any) -> None:
    if labels is None:
        return
    if node.oldVal:
        if str(node.oldVal) in labels:
            labels[labels.index(str(node.oldVal))] = str(node.newVal)
        return
    new = str(node.newVal)
    if new in labels:
        return
    neighbor = str(node.newValNeighbor) if node.newValNeighbor else None
    if neighbor in labels:
        at = labels.index(str(neighbor)) + (1 if node.newValIsAfter else 0)
        labels.insert(at, new)
    else:
        labels.append(new)


def statement_nodes(sql: Any) -> list[Any] | None:
    """Parsed statements of ``RunSQL.sql`` / ``reverse_sql``; None when not readable."""
    from schemaops.statements import runsql_texts

    try:
        return [s.node for text in runsql_texts(sql) for s in parse(text)]
    except (ValueError, SQLSyntaxError):
        return None


@dataclass
class Piece:
    """What one statement becomes: ``forward`` for the expand migration (outside a
    transaction when ``concurrent``), ``validate`` for the next one, ``undo`` to
    reverse what the remedy added (the user's own reverse is kept apart)."""

    forward: list[str] = field(default_factory=list)
    concurrent: bool = False
    validate: list[str] = field(default_factory=list)
    undo: list[str] = field(default_factory=list)
    validate_undo: list[str] = field(default_factory=list)
    original: Any = None  # the user's statement, for its inverse
    techniques: list[str] = field(default_factory=list)
    # (table, column, constraint) of each CHECK (col IS NOT NULL) proving a SET NOT NULL
    not_null_checks: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Context:
    """What the rewriting of one ``RunSQL`` knows: target, state, earlier SQL."""

    app_label: str
    state: Any
    pg_version: int  # major, e.g. 15
    atomic: bool
    new_tables: set[str]
    facts: SqlFacts
    notes: list[str] = field(default_factory=list)
    backfills: list[str] = field(default_factory=list)
    not_valid: set[tuple[str, str]] = field(default_factory=set)
    created_types: set[str] = field(default_factory=set)
    # statement (its id) -> columns made text that still need their length CHECK
    pending: dict[int, list[Any]] = field(default_factory=dict)
    # the user's own SQL (column types are a choice there; Django's follow its fields)
    user_sql: bool = True

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def plan_runsql(
    op: Any, app_label: str, state: ProjectState, context: PlanContext
) -> Remedy | None:
    """The remedy of a ``RunSQL`` whose statements lock, or None when they are all safe."""
    nodes = statement_nodes(op.sql)
    if not nodes:
        return None
    ctx = _context(app_label, state, context)
    ctx.not_valid = set(ctx.facts.not_valid)
    return _plan(nodes, ctx, _reverse_kind(op), context.post_phase, op, None)


def plan_validate(
    op: Any, app_label: str, state: ProjectState, context: PlanContext
) -> Remedy | None:
    """``ValidateConstraint`` of a constraint the same atomic migration added NOT VALID:
    the validation moves to a migration of its own (the ADD's lock is not held during it)."""
    from schemaops.plan import db_table_for
    from schemaops.remedy.planner import MigrationSpec, Remedy

    model = state.models.get((app_label, str(op.model_name).lower()))
    facts = context.facts
    if not context.atomic or model is None or facts is None:
        return None
    table = db_table_for(app_label, model.name, model.options)
    if (table, str(op.name)) not in facts.not_valid:
        return None
    steps = [MigrationSpec("validate", [op], post=context.post_phase)]
    return Remedy(VALIDATE_LATER, SUMMARIES[VALIDATE_LATER], steps)


def plan_statements(
    op: Any,
    forwards: list[str],
    backwards: list[str],
    app_label: str,
    state: ProjectState,
    context: PlanContext,
) -> Remedy | None:
    """The remedy of a Django operation from the statements its schema editor emits, for
    what :mod:`~schemaops.remedy.transform` does not rewrite (a primary key, an index on a
    partitioned table, ``CONCURRENTLY`` in an atomic migration) and for advice.

    The first migration keeps the operation as its state (``SeparateDatabaseAndState``);
    Django's own reverse undoes it.
    """
    try:
        nodes = [s.node for text in forwards for s in parse(text)]
    except SQLSyntaxError:
        return None
    ctx = _context(app_label, state, context)
    ctx.user_sql = False
    return _plan(nodes, ctx, backwards or "noop", context.post_phase, None, op)


def _context(app_label: str, state: Any, context: PlanContext) -> Context:
    facts = context.facts
    return Context(
        app_label,
        state,
        context.pg_version // 10000,
        context.atomic,
        context.new_tables,  # the migration's: RunSQL adds to it
        copy.deepcopy(facts) if facts is not None else SqlFacts(),  # this operation's own
    )


def _plan(
    nodes: list[Any], ctx: Context, user_reverse: Any, post: bool, runsql: Any, state_op: Any
) -> Remedy | None:
    from schemaops.remedy.planner import Remedy

    pieces: list[Piece] = []
    for node in nodes:
        pieces.extend(_rewrite(node, ctx))
        ctx.facts.record_node(node)
    for piece in pieces:
        if ctx.atomic and piece.concurrent and not piece.techniques:
            piece.techniques.append(NON_ATOMIC)  # already CONCURRENTLY: only the migration moves
    techniques = list(dict.fromkeys(t for p in pieces for t in p.techniques))
    if ctx.atomic and runsql is not None and _controls_transaction(runsql.reverse_sql):
        techniques.append(NO_TRANSACTION_CONTROL)
    inverses = _inverses(pieces) if user_reverse is None else None
    if inverses is not None and not techniques and runsql is not None:
        techniques.append(REVERSE_SQL)
    if not techniques:
        if not ctx.notes:
            return None
        return Remedy(ADVICE, "; ".join(ctx.notes))
    steps = _steps(runsql, state_op, pieces, ctx, user_reverse, inverses, post)
    summary = "; ".join([*(_summary(t) for t in techniques), *ctx.notes])
    backfill = "; ".join(ctx.backfills) or None
    return Remedy("+".join(techniques), summary, steps, backfill)


def _summary(technique: str) -> str:
    from schemaops.remedy.planner import _SUMMARIES

    return SUMMARIES.get(technique) or _SUMMARIES.get(technique, technique)


def _reverse_kind(op: Any) -> Any:
    """None (irreversible), ``"noop"``, or the user's reverse statements."""
    from django.db import migrations

    if op.reverse_sql is None:
        return None
    if op.reverse_sql == migrations.RunSQL.noop or op.reverse_sql == "":
        return "noop"
    return op.reverse_sql


# -- the migrations ---------------------------------------------------------------


def _steps(
    op: Any,
    state_op: Any,
    pieces: list[Piece],
    ctx: Context,
    user_reverse: Any,
    inverses: list[list[str]] | None,
    post: bool,
) -> list[Any]:
    """Expand migrations (split where atomicity changes), then one validate migration."""
    from schemaops.remedy.planner import MigrationSpec

    segments: list[tuple[bool, list[int]]] = []  # (atomic, piece indexes)
    for i, piece in enumerate(pieces):
        seg_atomic = ctx.atomic and not piece.concurrent
        if segments and segments[-1][0] == seg_atomic:
            segments[-1][1].append(i)
        else:
            segments.append((seg_atomic, [i]))
    specs = []
    for n, (seg_atomic, indexes) in enumerate(segments):
        forward = [s for i in indexes for s in pieces[i].forward]
        undo = [s for i in reversed(indexes) for s in pieces[i].undo]
        if user_reverse == "noop":
            reverse: list[str] | None = undo
        elif user_reverse is None:
            both = [*undo, *_flat(inverses, indexes)] if inverses is not None else None
            reverse = None if both is None else list(dict.fromkeys(both))
        else:
            reverse = undo
            if n == 0:
                reverse = [*_user_reverse(user_reverse, not seg_atomic), *undo]
        first = n == 0
        adds = [a for i in indexes for a in _check_states(pieces[i], ctx)[0]]
        operation = _run_sql(forward, reverse, op if first else None, adds)
        if not forward and not operation.state_operations and not reverse and state_op is None:
            continue  # nothing left here (a VALIDATE moved to the next migration)
        if first and state_op is not None:
            from django.db import migrations

            operation = migrations.SeparateDatabaseAndState(
                state_operations=[state_op], database_operations=[operation]
            )
        specs.append(
            MigrationSpec(
                "expand" if seg_atomic else "concurrently",
                [operation],
                atomic=seg_atomic and not (first and _needs_outside(reverse)),
                post=post,
            )
        )
    validate = [s for p in pieces for s in p.validate]
    if validate:
        undo = [s for p in reversed(pieces) for s in p.validate_undo]
        removes = [r for p in pieces for r in _check_states(p, ctx)[1]]
        run = _run_sql(validate, undo or [])
        if removes:  # the SQL sees the model before these (SO109 finds the proving check)
            from django.db import migrations

            run = migrations.SeparateDatabaseAndState(
                state_operations=removes, database_operations=[run]
            )
        specs.append(MigrationSpec("validate", [run], post=post))
    return specs


def _flat(inverses: list[list[str]], indexes: list[int]) -> list[str]:
    return [s for i in reversed(indexes) for s in inverses[i]]


def _needs_outside(statements: list[str] | None) -> bool:
    for text in statements or ():
        try:
            if any(runs_outside_transaction(s.node) for s in parse(text)):
                return True
        except SQLSyntaxError:
            continue
    return False


def _controls_transaction(sql: Any) -> bool:
    return any(isinstance(n, ast.TransactionStmt) for n in statement_nodes(sql) or ())


def _user_reverse(reverse: Any, outside: bool) -> list[str]:
    """The user's reverse, tolerant of a half-applied forward (``IF EXISTS``); a
    ``DROP INDEX`` concurrent when its migration runs outside a transaction."""
    from schemaops.statements import runsql_texts

    texts = [t for t in runsql_texts(reverse)]
    try:
        statements = reversible(texts)
    except SQLSyntaxError:
        return texts
    out = []
    for text in statements:
        node = parse(text)[0].node
        if isinstance(node, ast.TransactionStmt) and not outside:
            continue  # the migration is one transaction already
        if not outside:
            out.append(text)
        elif _is_index_drop(node) and node.behavior != enums.DropBehavior.DROP_CASCADE:
            out.extend(_drop_index_concurrently(node))
        else:
            out.append(text)
    return out


def _run_sql(
    forward: list[str],
    reverse: list[str] | None,
    original: Any = None,
    states: list[Any] | None = None,
) -> Any:
    """``RunSQL`` of ``forward``; reverse None: irreversible, as the user's was."""
    from django.db import migrations

    back: Any = migrations.RunSQL.noop if reverse == [] else reverse
    kwargs: dict[str, Any] = {}
    if original is not None:
        kwargs = {"hints": original.hints or None, "elidable": original.elidable}
    state = [*(getattr(original, "state_operations", None) or []), *(states or [])]
    return migrations.RunSQL(list(forward), reverse_sql=back, state_operations=state, **kwargs)


def _check_states(piece: Piece, ctx: Context) -> tuple[list[Any], list[Any]]:
    """AddConstraint / RemoveConstraint state operations for the NOT NULL checks of a piece
    on a Django model: the state follows the database (SO109 reads the check from it), and
    ends where it began."""
    from django.db import migrations, models

    from schemaops.plan import column_for, db_table_for

    adds, removes = [], []
    for table, column, name in piece.not_null_checks:
        for (app, model_name), model in ctx.state.models.items():
            if app != ctx.app_label or db_table_for(app, model.name, model.options) != table:
                continue
            fname = next((n for n, f in model.fields.items() if column_for(n, f) == column), None)
            if fname is None:
                continue
            check = models.CheckConstraint(
                condition=models.Q(**{f"{fname}__isnull": False}), name=name
            )
            adds.append(migrations.AddConstraint(model_name, check))
            removes.append(migrations.RemoveConstraint(model_name, name))
    return adds, removes


# -- inverses (a RunSQL without reverse_sql gets one when every statement has one) ----

_CREATED = {
    ast.CreateStmt: ("TABLE", "relation"),
    ast.CreateSeqStmt: ("SEQUENCE", "sequence"),
    ast.ViewStmt: ("VIEW", "view"),
}


# statements that leave nothing behind to undo
_NO_STATEMENT = ast.TransactionStmt()  # a piece that runs nothing (its inverse: nothing)
_NOTHING_TO_UNDO = (ast.ReindexStmt, ast.RefreshMatViewStmt, ast.VacuumStmt, ast.TransactionStmt)


def inverse(node: Any) -> list[str] | None:
    """SQL undoing one statement (tolerant: ``IF EXISTS``); None when none is known."""
    if isinstance(node, _NOTHING_TO_UNDO):
        return []
    if type(node) in _CREATED:
        kind, attr = _CREATED[type(node)]
        return [f"DROP {kind} IF EXISTS {_qualified(getattr(node, attr))}"]
    if isinstance(node, ast.IndexStmt) and node.idxname:
        how = "CONCURRENTLY " if node.concurrent else ""
        schema = getattr(node.relation, "schemaname", None)
        name = ".".join(ident(n) for n in (schema, str(node.idxname)) if n)
        return [f"DROP INDEX {how}IF EXISTS {name}"]
    if isinstance(node, ast.CreateTrigStmt):
        table = _qualified(node.relation)
        return [f"DROP TRIGGER IF EXISTS {ident(str(node.trigname))} ON {table}"]
    if isinstance(node, ast.CreateExtensionStmt):
        return [f"DROP EXTENSION IF EXISTS {ident(str(node.extname))}"]
    if isinstance(node, ast.CreateEnumStmt):
        return [f"DROP TYPE IF EXISTS {'.'.join(ident(n) for n in names(node.typeName))}"]
    if isinstance(node, ast.AlterTableStmt):
        return _inverse_alter(node)
    return None


def _inverse_alter(node: Any) -> list[str] | None:
    out = []
    table = _qualified(node.relation)
    for cmd in reversed(node.cmds or ()):
        if cmd.subtype == AT.AT_AddColumn:
            out.append(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {ident(cmd.def_.colname)}")
        elif cmd.subtype == AT.AT_AddConstraint and cmd.def_.conname:
            out.append(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {ident(cmd.def_.conname)}")
        elif cmd.subtype == AT.AT_ColumnDefault and cmd.def_ is not None:
            out.append(f"ALTER TABLE {table} ALTER COLUMN {ident(cmd.name)} DROP DEFAULT")
        else:
            return None
    return out


def inverse_sql(nodes: list[Any]) -> list[str] | None:
    """Statements undoing ``nodes``, in reverse order; None if one has no known inverse."""
    out: list[str] = []
    for node in reversed(nodes):
        undo = inverse(node)
        if undo is None:
            return None
        out.extend(undo)
    return out


def _inverses(pieces: list[Piece]) -> list[list[str]] | None:
    out = []
    for piece in pieces:
        undo = inverse(piece.original) if piece.original is not None else None
        if undo is None:
            return None
        out.append(undo)
    return out


def _qualified(rangevar: Any) -> str:
    parts = [rangevar.schemaname, rangevar.relname]
    return ".".join(ident(str(p)) for p in parts if p)


# -- statement by statement -------------------------------------------------------


def _kept(node: Any, *, concurrent: bool = False) -> Piece:
    return Piece([deparse(node)], concurrent=concurrent, original=node)


def _rewrite(node: Any, ctx: Context) -> list[Piece]:
    """The pieces one user statement becomes (itself, unchanged, when it is safe)."""
    if isinstance(node, ast.CreateStmt) and node.relation is not None:
        _retype(node, ctx)
        ctx.new_tables.add(str(node.relation.relname))
    if isinstance(node, ast.CreateEnumStmt):
        ctx.created_types.add(names(node.typeName)[-1])
    if isinstance(node, ast.CreateDomainStmt):
        ctx.created_types.add(names(node.domainname)[-1])
    if isinstance(node, ast.CreateSchemaStmt) and node.schemaname:
        ctx.created_types.add(str(node.schemaname))
    handler = _HANDLERS.get(type(node))
    if handler is not None:
        return handler(node, ctx)
    return [_kept(node, concurrent=runs_outside_transaction(node) is not None)]


def _transaction(node: Any, ctx: Context) -> list[Piece]:
    if not ctx.atomic:
        return [_kept(node)]
    return [Piece([], original=node, techniques=[NO_TRANSACTION_CONTROL])]


def _do_block(node: Any, ctx: Context) -> list[Piece]:
    """A DO block without control flow is the statements it runs: rewrite those."""
    from schemaops.plpgsql import flat_do_statements

    statements = flat_do_statements(node)
    if statements is None:
        return [_kept(node)]
    pieces = [p for stmt in statements for p in _rewrite(stmt.node, ctx)]
    if not any(p.techniques for p in pieces):
        return [_kept(node)]
    return pieces


def _index(node: Any, ctx: Context) -> list[Piece]:
    table = str(node.relation.relname)
    if table in ctx.new_tables:
        return [_kept(node)]
    if table in ctx.facts.partitions:
        if not node.relation.inh:  # ON ONLY: instant, and CONCURRENTLY is refused there
            return [_kept(node)]
        return [_partitioned_index(node, table, ctx.facts.partitions[table])]
    if node.concurrent:
        return [_kept(node, concurrent=True)]
    clone = copy.deepcopy(node)
    clone.idxname = clone.idxname or _index_name(node)
    clone.concurrent = True
    forward = []
    name = ".".join(ident(n) for n in (node.relation.schemaname, str(clone.idxname)) if n)
    if not node.if_not_exists:  # a failed concurrent build leaves an INVALID index
        forward.append(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    clone.if_not_exists = True
    forward.append(deparse(clone))
    undo = [f"DROP INDEX CONCURRENTLY IF EXISTS {name}"]
    return [Piece(forward, True, undo=undo, original=clone, techniques=[CONCURRENT])]


def _index_name(node: Any) -> str:
    """The name PostgreSQL would choose for an unnamed index (so a retry finds it)."""
    from django.db.backends.utils import truncate_name

    columns = [str(p.name) if p.name else "expr" for p in node.indexParams or ()]
    return str(truncate_name(f"{node.relation.relname}_{'_'.join(columns)}_idx", 63))


def _partitioned_index(node: Any, table: str, partitions: list[str]) -> Piece:
    parent = copy.deepcopy(node)
    parent.idxname = parent.idxname or _index_name(node)
    parent.concurrent = False
    parent.if_not_exists = True
    parent.relation.inh = False  # ON ONLY: instant, invalid until every partition attaches
    name = str(parent.idxname)
    forward = [deparse(parent)]
    undo = []
    for partition in partitions:
        child = copy.deepcopy(parent)
        child.relation = ast.RangeVar(relname=partition, inh=True, relpersistence="p")
        child.idxname = f"{partition}_{name}"[:63]
        child.concurrent = True
        forward.append(deparse(child))
        forward.append(f"ALTER INDEX {ident(name)} ATTACH PARTITION {ident(str(child.idxname))}")
        undo.append(f"DROP INDEX CONCURRENTLY IF EXISTS {ident(str(child.idxname))}")
    undo.append(f"DROP INDEX IF EXISTS {ident(name)}")
    return Piece(forward, True, undo=undo, original=parent, techniques=[PARTITIONED_INDEX])


def _is_index_drop(node: Any) -> bool:
    return isinstance(node, ast.DropStmt) and node.removeType == enums.ObjectType.OBJECT_INDEX


def _drop_index_concurrently(node: Any) -> list[str]:
    out = []
    for parts in node.objects or ():
        one = copy.deepcopy(node)
        one.objects = (parts,)
        one.concurrent = True
        one.missing_ok = True
        out.append(deparse(one))
    return out


def _drop(node: Any, ctx: Context) -> list[Piece]:
    if node.removeType == enums.ObjectType.OBJECT_SCHEMA:
        if node.behavior == enums.DropBehavior.DROP_CASCADE:
            ctx.note(
                "DROP SCHEMA ... CASCADE has no safe form: stop using the schema in the code, "
                "drop its tables one by one in a post-deploy migration, then DROP SCHEMA "
                "... RESTRICT"
            )
        return [_kept(node)]
    if not _is_index_drop(node) or node.concurrent:
        return [_kept(node, concurrent=bool(node.concurrent))]
    if node.behavior == enums.DropBehavior.DROP_CASCADE:
        ctx.note("DROP INDEX ... CASCADE cannot run CONCURRENTLY: drop what depends on it first")
        return [_kept(node)]
    return [Piece(_drop_index_concurrently(node), True, original=node, techniques=[CONCURRENT])]


def _reindex(node: Any, ctx: Context) -> list[Piece]:
    concurrent = reindex_concurrent(node)
    target = relname(node.relation) if node.relation else None
    if (
        concurrent
        or ctx.pg_version < 12
        or node.kind == enums.ReindexObjectType.REINDEX_OBJECT_SYSTEM
        or (target in ctx.new_tables)
    ):
        return [_kept(node, concurrent=concurrent)]
    clone = copy.deepcopy(node)
    clone.params = (*(clone.params or ()), ast.DefElem(defname="concurrently"))
    return [Piece([deparse(clone)], True, original=node, techniques=[CONCURRENT_COMMAND])]


def _refresh(node: Any, ctx: Context) -> list[Piece]:
    view = str(relname(node.relation))
    if node.concurrent or node.skipData or view in ctx.new_tables:
        return [_kept(node)]
    if not ctx.facts.unique_indexes.get(view):
        ctx.note(
            f"REFRESH MATERIALIZED VIEW {view} can only run CONCURRENTLY (reads go on) with a "
            f"unique index on the view: create one first with CREATE UNIQUE INDEX CONCURRENTLY "
            f"... ON {ident(view)} (...), without WHERE"
        )
        return [_kept(node)]
    clone = copy.deepcopy(node)
    clone.concurrent = True
    return [Piece([deparse(clone)], original=node, techniques=[CONCURRENT_COMMAND])]


def _lock(node: Any, ctx: Context) -> list[Piece]:
    ctx.note(
        "LOCK TABLE: DDL takes the locks it needs; if this lock is really needed, take the "
        "weakest mode that works, right after SET LOCAL lock_timeout, and keep the migration quick"
    )
    return [_kept(node)]


def _rename(node: Any, ctx: Context) -> list[Piece]:
    if node.renameType == enums.ObjectType.OBJECT_SCHEMA and str(node.subname) not in (
        ctx.created_types
    ):
        old, new = ident(str(node.subname)), ident(str(node.newname))
        ctx.note(
            f"renaming schema {old}: CREATE SCHEMA {new}, deploy code whose search_path lists "
            f"{new}, {old}; move each object with ALTER TABLE {old}.<table> SET SCHEMA {new}; "
            f"then DROP SCHEMA {old} RESTRICT in a post-deploy migration"
        )
    return [_kept(node)]


# -- ALTER TABLE ---------------------------------------------------------------------


def _alter_table(node: Any, ctx: Context) -> list[Piece]:
    table = str(relname(node.relation))
    _retype(node, ctx)
    if table in ctx.new_tables:
        return [_kept(node), *_length_checks(node, table, ctx)]
    pieces = []
    for cmd in node.cmds or ():
        single = copy.deepcopy(node)
        single.cmds = (cmd,)
        pieces.append(_alter_command(single, cmd, table, ctx))
    extra = _length_checks(node, table, ctx)
    return [*pieces, *extra]


def _alter_command(single: Any, cmd: Any, table: str, ctx: Context) -> Piece:
    kind = cmd.subtype
    if kind == AT.AT_DetachPartition:
        if cmd.def_.concurrent or ctx.pg_version < 14:
            return _kept(single, concurrent=bool(cmd.def_.concurrent))
        clone = copy.deepcopy(single)
        clone.cmds[0].def_.concurrent = True
        return Piece([deparse(clone)], True, original=single, techniques=[CONCURRENT_COMMAND])
    if kind == AT.AT_ValidateConstraint and (table, str(cmd.name)) in ctx.not_valid and ctx.atomic:
        return Piece([], validate=[deparse(single)], original=single, techniques=[VALIDATE_LATER])
    if kind == AT.AT_AddConstraint:
        con = cmd.def_
        if con.contype == CONSTR.CONSTR_EXCLUSION:
            ctx.note(
                "an exclusion constraint has no NOT VALID or CONCURRENTLY form: add it when "
                "the table is small or quiet, behind SET LOCAL lock_timeout, or build a new "
                "table with it and copy the rows over in batches"
            )
            return _kept(single)
        if con.skip_validation and con.conname:
            ctx.not_valid.add((table, str(con.conname)))
            return _kept(single)
        if con.contype == CONSTR.CONSTR_PRIMARY and not con.indexname:
            return _primary_key(single, table, con, ctx)
    if kind == AT.AT_AddColumn:
        _column_advice(cmd.def_, table, ctx)
    return _transformed(single, ctx)


def _transformed(single: Any, ctx: Context) -> Piece:
    """One ALTER TABLE command through the planner's transform of Django's statements."""
    done = rewrite([deparse(single)], set(ctx.new_tables))
    if not done.techniques:
        return _kept(single)
    for stmt in done.validate:
        node = parse(stmt)[0].node
        for cmd in node.cmds or ():
            if cmd.subtype == AT.AT_ValidateConstraint:
                ctx.not_valid.discard((str(relname(node.relation)), str(cmd.name)))
    return Piece(
        done.expand,
        done.concurrent,
        validate=done.validate,
        undo=[*done.undo_before, *done.undo_after],
        validate_undo=_attach_undo(done.validate),
        original=single,
        techniques=list(done.techniques),
        not_null_checks=list(done.not_null_checks),
    )


def _attach_undo(validate: list[str]) -> list[str]:
    """The reverse of ``ADD CONSTRAINT ... USING INDEX`` in a validate migration: drop it
    (with its index), so an earlier migration's reverse finds nothing holding the index."""
    out = []
    for text in reversed(validate):
        node = parse(text)[0].node
        for cmd in node.cmds or ():
            if cmd.subtype == AT.AT_AddConstraint and cmd.def_.indexname:
                out.append(
                    f"ALTER TABLE {_qualified(node.relation)} DROP CONSTRAINT IF EXISTS "
                    f"{ident(str(cmd.def_.conname))}"
                )
    return out


def _primary_key(single: Any, table: str, con: Any, ctx: Context) -> Piece:
    """Unique index concurrently, NOT NULL proved by checks, then PRIMARY KEY USING INDEX."""
    name = str(con.conname or f"{table}_pkey")
    columns = names(con.keys)
    column_list = ", ".join(ident(c) for c in columns)
    t = _qualified(single.relation)
    forward = [
        f"DROP INDEX CONCURRENTLY IF EXISTS {ident(name)}",
        f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {ident(name)} ON {t} ({column_list})",
    ]
    not_null = rewrite(
        [f"ALTER TABLE {t} ALTER COLUMN {ident(c)} SET NOT NULL" for c in columns], set()
    )
    forward += not_null.expand
    validate = [
        *not_null.validate,
        f"ALTER TABLE {t} ADD CONSTRAINT {ident(name)} PRIMARY KEY USING INDEX {ident(name)}",
    ]
    undo = [f"DROP INDEX CONCURRENTLY IF EXISTS {ident(name)}", *not_null.undo_before]
    return Piece(
        forward,
        True,
        validate=validate,
        undo=undo,
        validate_undo=[f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {ident(name)}"],
        original=single,
        techniques=["unique-using-index", *not_null.techniques],
        not_null_checks=list(not_null.not_null_checks),
    )


def _column_advice(coldef: Any, table: str, ctx: Context) -> None:
    from schemaops.columns import type_from_node

    constraints = {c.contype: c for c in coldef.constraints or ()}
    col_type = type_from_node(coldef.typeName) if coldef.typeName is not None else None
    column = str(coldef.colname)
    model = _model_label(table, ctx)
    generated = constraints.get(CONSTR.CONSTR_GENERATED)
    if generated is not None and getattr(generated, "generated_kind", "s") == "s":
        expr = deparse(generated.raw_expr)  # STORED (VIRTUAL computes on read: no rewrite)
        ctx.note(
            f"a stored generated column rewrites {table}: keep the field in the state, add "
            f"{column} as a plain nullable column filled by a BEFORE INSERT OR UPDATE trigger "
            f"(NEW.{ident(column)} := {expr}), then fill the existing rows in batches: "
            f'schemaops backfill start {model} --set "{column} = {expr}" '
            f'--where "{column} IS NULL" --wait'
        )
    elif CONSTR.CONSTR_IDENTITY in constraints or (
        col_type is not None and "serial" in col_type.name
    ):
        seq = _truncate(f"{table}_{column}_seq")
        ctx.note(
            f"an auto-numbered column rewrites {table}: add {column} as a plain nullable bigint, "
            f"CREATE SEQUENCE {seq} OWNED BY {table}.{column} and SET DEFAULT nextval('{seq}') "
            f"(no rewrite), number the existing rows in batches: schemaops backfill start "
            f'{model} --set "{column} = nextval(\'{seq}\')" --where "{column} IS NULL" --wait, '
            "then build its unique index CONCURRENTLY"
        )
    elif CONSTR.CONSTR_PRIMARY in constraints:
        ctx.note(
            f"ADD COLUMN ... PRIMARY KEY builds the index under ACCESS EXCLUSIVE on {table}: add "
            "the column, build a unique index CONCURRENTLY, then ADD PRIMARY KEY USING INDEX"
        )


def _model_label(table: str, ctx: Context) -> str:
    """``app.Model`` of the model whose table is ``table`` (for a backfill command)."""
    from schemaops.plan import db_table_for

    for (app, _name), model in ctx.state.models.items():
        if db_table_for(app, model.name, model.options) == table:
            return f"{app}.{model.name}"
    return "<app.Model>"


# -- column types ------------------------------------------------------------------

BETTER = {"json": "jsonb", "timestamp": "timestamptz"}
LENGTH_TYPES = ("bpchar", "varchar")


def _retype(node: Any, ctx: Context) -> None:
    """json -> jsonb, timestamp -> timestamptz, char(n)/varchar(n) -> text, in place."""
    from schemaops.columns import declared_columns

    if not ctx.user_sql:
        return
    for col in declared_columns(node):
        new = BETTER.get(col.base)
        if new is None and col.base in LENGTH_TYPES and (col.length or col.base == "bpchar"):
            new = "text"
        if new is None:
            continue
        length = col.length or ("1" if col.base == "bpchar" else None)
        if col.action == "ALTER COLUMN TYPE":
            _retype_casts(node, col.base, new)  # USING col::json: the cast follows the column
        col.type.names = (ast.String(sval=new),)
        col.type.typmods = None
        ctx.pending.setdefault(id(node), []).append((col, length if new == "text" else None))


def _retype_casts(node: Any, base: str, new: str) -> None:
    if isinstance(node, ast.TypeCast) and node.typeName is not None:
        parts = names(node.typeName.names)
        if parts and parts[-1].lower() == base:
            node.typeName.names = (ast.String(sval=new),)
            node.typeName.typmods = None
    if isinstance(node, ast.Node):
        for attr in node:
            _retype_casts(getattr(node, attr), base, new)
    elif isinstance(node, tuple | list):
        for item in node:
            _retype_casts(item, base, new)


def _length_checks(node: Any, table: str, ctx: Context) -> list[Piece]:
    """A ``char_length`` CHECK for each char(n)/varchar(n) made text (NOT VALID, then
    VALIDATE, on an existing table); the type change itself is a technique."""
    out = []
    for col, length in ctx.pending.pop(id(node), []):
        piece = Piece(original=_NO_STATEMENT, techniques=[BETTER_TYPE])
        if length:
            name = _truncate(f"{col.table}_{col.column}_len")
            check = parse(
                f"ALTER TABLE {ident(col.table)} ADD CONSTRAINT {ident(name)} "
                f"CHECK (char_length({ident(col.column)}) <= {length})"
            )[0].node
            piece = _kept(check) if table in ctx.new_tables else _transformed(check, ctx)
            piece.techniques = [BETTER_TYPE, *piece.techniques]
        out.append(piece)
    return out


def _create_table(node: Any, ctx: Context) -> list[Piece]:
    pending = ctx.pending.pop(id(node), [])
    for col, length in pending:
        if length:
            expr = parse(f"SELECT char_length({ident(col.column)}) <= {length}")[0].node
            check = ast.Constraint(
                contype=CONSTR.CONSTR_CHECK,
                conname=_truncate(f"{col.table}_{col.column}_len"),
                raw_expr=expr.targetList[0].val,
                initially_valid=True,
                is_enforced=True,
            )
            node.tableElts = (*node.tableElts, check)
    piece = _kept(node)
    piece.techniques = [BETTER_TYPE] if pending else []
    return [piece]


# -- types: domains and enums ----------------------------------------------------------


def _alter_domain(node: Any, ctx: Context) -> list[Piece]:
    domain = names(node.typeName)[-1]
    if node.subtype != "C" or node.def_.skip_validation or domain in ctx.created_types:
        if node.subtype in ("O", "V") and domain not in ctx.created_types:
            ctx.note(
                f"ALTER DOMAIN {domain} SET NOT NULL / VALIDATE checks every column of the "
                "domain with their tables locked against writes: enforce the rule with a table "
                "CHECK (NOT VALID, then VALIDATE) on each column instead"
            )
        return [_kept(node)]
    clone = copy.deepcopy(node)
    clone.def_.skip_validation = True
    clone.def_.initially_valid = False
    forward = [deparse(clone)]
    name = str(node.def_.conname or f"{domain}_check")
    qualified = ".".join(ident(n) for n in names(node.typeName))
    undo = [f"ALTER DOMAIN {qualified} DROP CONSTRAINT IF EXISTS {ident(name)}"]
    if ctx.pg_version >= DOMAIN_VALIDATE_ONLINE:
        validate = [f"ALTER DOMAIN {qualified} VALIDATE CONSTRAINT {ident(name)}"]
        return [
            Piece(forward, validate=validate, undo=undo, original=node, techniques=[DOMAIN_PROOF])
        ]
    validate = []
    for table, column in _domain_columns(domain, ctx):
        check = str(_truncate(f"{table}_{column}_{name}"))
        expr = _swap_value(node.def_.raw_expr, column)
        forward.append(
            f"ALTER TABLE {ident(table)} ADD CONSTRAINT {ident(check)} CHECK ({expr}) NOT VALID"
        )
        validate += [
            f"ALTER TABLE {ident(table)} VALIDATE CONSTRAINT {ident(check)}",
            f"ALTER TABLE {ident(table)} DROP CONSTRAINT {ident(check)}",
        ]
        undo.insert(0, f"ALTER TABLE {ident(table)} DROP CONSTRAINT IF EXISTS {ident(check)}")
    if not validate:
        ctx.note(
            f"no column of {domain} is known, so its existing values are not proved: "
            f"the constraint stays NOT VALID (on PostgreSQL 19+, VALIDATE it later)"
        )
    return [Piece(forward, validate=validate, undo=undo, original=node, techniques=[DOMAIN_PROOF])]


def _truncate(name: str) -> str:
    from django.db.backends.utils import truncate_name

    return str(truncate_name(name, 63))


def _domain_columns(domain: str, ctx: Context) -> list[tuple[str, str]]:
    """Columns declared with the domain: Django fields (their db_type) and SQL columns."""
    from schemaops.columns import field_db_type
    from schemaops.plan import column_for, db_table_for

    out = list(ctx.facts.typed_columns.get(domain.lower(), []))
    for (app, _model), model in ctx.state.models.items():
        for name, f in model.fields.items():
            if getattr(f, "remote_field", None) is not None:
                continue
            col = field_db_type(f, None, ctx.pg_version)
            if col is not None and col.name == domain.lower():
                out.append((db_table_for(app, model.name, model.options), column_for(name, f)))
    return list(dict.fromkeys(out))


def _swap_value(expr: Any, column: str) -> str:
    """A domain CHECK expression for one column: ``VALUE`` becomes the column."""
    return deparse(swap_value(copy.deepcopy(expr), column))


def swap_value(node: Any, column: str) -> Any:
    if isinstance(node, ast.ColumnRef) and [n.lower() for n in names(node.fields)] == ["value"]:
        return ast.ColumnRef(fields=(ast.String(sval=column),))
    if isinstance(node, ast.Node):
        for attr in node:
            setattr(node, attr, swap_value(getattr(node, attr), column))
        return node
    if isinstance(node, tuple):
        return tuple(swap_value(item, column) for item in node)
    return node


def _alter_enum(node: Any, ctx: Context) -> list[Piece]:
    type_name = names(node.typeName)[-1]
    if type_name in ctx.created_types:
        return [_kept(node)]
    if node.oldVal:
        return [_enum_rename(node, type_name, ctx)]
    if not node.newVal or node.newValNeighbor:
        return [_kept(node)]
    labels = ctx.facts.enum_labels.get(type_name)
    clone = copy.deepcopy(node)
    clone.skipIfNewValExists = True
    if labels:
        clone.newValNeighbor = labels[-1]
        clone.newValIsAfter = True
    else:
        ctx.note(
            f"name the label {literal(str(node.newVal))} goes after (or before) in "
            f"{type_name}: ADD VALUE ... AFTER '<label>'"
        )
    return [Piece([deparse(clone)], original=node, techniques=[ENUM_POSITION])]


def _enum_rename(node: Any, type_name: str, ctx: Context) -> Piece:
    old, new = str(node.oldVal), str(node.newVal)
    qualified = ".".join(ident(n) for n in names(node.typeName))
    add = f"ALTER TYPE {qualified} ADD VALUE IF NOT EXISTS {literal(new)} AFTER {literal(old)}"
    for model, column in _enum_models(type_name, ctx):
        ctx.backfills.append(
            f'schemaops backfill start {model} --set "{column} = {literal(new)}" '
            f'--where "{column} = {literal(old)}" --wait'
        )
    if not ctx.backfills:
        ctx.backfills.append(
            f"UPDATE <table> SET <column> = {literal(new)} WHERE <column> = {literal(old)}, "
            "in batches"
        )
    ctx.note(
        f"deploy code that writes {literal(new)} and reads both labels before the backfill; "
        f"{literal(old)} then stays in the type, unused"
    )
    return Piece([add], original=node, techniques=[ENUM_RENAME])


def _enum_models(type_name: str, ctx: Context) -> list[tuple[str, str]]:
    from schemaops.columns import field_db_type
    from schemaops.plan import column_for

    out = []
    for (app, _model), model in ctx.state.models.items():
        for name, f in model.fields.items():
            col = field_db_type(f, None, ctx.pg_version)
            if col is not None and col.name == type_name.lower():
                out.append((f"{app}.{model.name}", column_for(name, f)))
    return out


def literal(value: str) -> str:
    """An SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _create_domain(node: Any, ctx: Context) -> list[Piece]:
    kinds = {CONSTR.CONSTR_CHECK: "CHECK", CONSTR.CONSTR_NOTNULL: "NOT NULL"}
    found = [kinds[c.contype] for c in node.constraints or () if c.contype in kinds]
    if found:
        domain = names(node.domainname)[-1]
        ctx.note(
            f"create {domain} without its {' and '.join(dict.fromkeys(found))} constraint and "
            f"put the rule on each column declared {domain} as a table CHECK, which can later "
            "change online (NOT VALID, then VALIDATE); a domain constraint cannot"
        )
    return [_kept(node)]


_HANDLERS: dict[type, Any] = {
    ast.CreateDomainStmt: _create_domain,
    ast.TransactionStmt: _transaction,
    ast.DoStmt: _do_block,
    ast.IndexStmt: _index,
    ast.DropStmt: _drop,
    ast.ReindexStmt: _reindex,
    ast.RefreshMatViewStmt: _refresh,
    ast.LockStmt: _lock,
    ast.RenameStmt: _rename,
    ast.AlterTableStmt: _alter_table,
    ast.AlterDomainStmt: _alter_domain,
    ast.AlterEnumStmt: _alter_enum,
    ast.CreateStmt: _create_table,
}
