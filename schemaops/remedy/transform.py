"""Django's own statements for an operation, rewritten into the non-blocking sequence.

The planner does not invent DDL: it takes the statements Django's schema
editor emits for the operation and changes only how they take their locks,
on the pglast AST (never by editing text):

- ``CREATE INDEX`` / ``DROP INDEX`` on an existing table: ``CONCURRENTLY``
  (so the expand migration runs with ``atomic = False``);
- ``ADD CONSTRAINT ... FOREIGN KEY`` / ``CHECK``, and a ``REFERENCES`` inline
  in ``ADD COLUMN``: added ``NOT VALID``, validated in the next migration;
- ``ADD CONSTRAINT ... UNIQUE``: a unique index built concurrently, then
  attached with ``UNIQUE USING INDEX``;
- ``SET NOT NULL``: ``CHECK (col IS NOT NULL) NOT VALID``, validated in the
  next migration, then ``SET NOT NULL`` (PostgreSQL 12+ skips the scan when a
  valid check proves it) and the check dropped;
- ``ADD COLUMN ... DEFAULT x NOT NULL`` then ``DROP DEFAULT`` (Django's way
  of filling existing rows from a Python default): the ``DROP DEFAULT`` moves
  to the post-deploy migration, so the code still running during the deploy,
  which does not know the column, can insert;
- a foreign key Django drops and adds again unchanged around an ``ALTER
  COLUMN`` (it does for any change of the column) stays as it is;
- ``SET CONSTRAINTS ... IMMEDIATE`` (only there to check a deferred constraint
  inside Django's transaction) is left out.

Everything else is kept as Django wrote it. The final schema is the one
Django's operation makes, index and constraint names included.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, enums

from schemaops.statements import deparse as print_sql
from schemaops.statements import ident, parse, relname

CONCURRENT_INDEX = "concurrent-index"
NOT_VALID = "not-valid-then-validate"
UNIQUE_USING_INDEX = "unique-using-index"
NOT_NULL_BY_CHECK = "not-null-by-check"
DEFAULT_UNTIL_DEPLOYED = "db-default-until-deployed"


@dataclass
class Rewritten:
    """The statements of one operation, split by the migration they belong in.

    ``expand`` runs first (in a non-atomic migration when ``concurrent``),
    ``validate`` in the next migration; the reverse of the expand migration
    runs ``undo_before``, Django's own reverse, then ``undo_after``.
    ``techniques`` names what was changed; empty means nothing needed changing.
    ``fills`` says Django's statements fill existing rows (an UPDATE).
    """

    expand: list[str] = field(default_factory=list)
    validate: list[str] = field(default_factory=list)
    undo_before: list[str] = field(default_factory=list)
    undo_after: list[str] = field(default_factory=list)
    techniques: list[str] = field(default_factory=list)
    concurrent: bool = False
    fills: bool = False
    contract: list[str] = field(default_factory=list)
    contract_undo: list[str] = field(default_factory=list)
    # (table, column, constraint) of each CHECK (col IS NOT NULL) that proves a SET NOT NULL
    not_null_checks: list[tuple[str, str, str]] = field(default_factory=list)
    # (table, constraint) -> its DROP CONSTRAINT's position in ``expand``
    dropped: dict[tuple[str, str], int] = field(default_factory=dict)
    # unique constraints taken out of ADD COLUMN: (table, name, columns), built after it
    after_column: list[tuple[str, str, list[str]]] = field(default_factory=list)
    # (table, column) -> the DEFAULT of a NOT NULL column this operation adds
    added_defaults: dict[tuple[str, str], str] = field(default_factory=dict)

    def note(self, technique: str) -> None:
        if technique not in self.techniques:
            self.techniques.append(technique)


# What the planner printed, by text: does it run outside a transaction (read from the
# node it was printed from, as PostgreSQL reads the text back)? The timeout writer asks
# it of every statement of a non-atomic file (timeouts.toggled), which would otherwise
# parse the planner's own text again. Bounded: a long `fix` starts it over.
_PRINTED: dict[str, bool] = {}
_PRINTED_LIMIT = 4096


def deparse(node: Any) -> str:
    text = print_sql(node)
    if len(_PRINTED) >= _PRINTED_LIMIT:
        _PRINTED.clear()
    _PRINTED[text] = runs_outside_transaction(node) is not None
    return text


def printed_outside_transaction(text: str) -> bool | None:
    """Does ``text``, printed by :func:`deparse`, run outside a transaction (None: the
    planner did not print it, or not lately)?"""
    return _PRINTED.get(text)


def runs_outside_transaction(node: Any) -> str | None:
    """The command's name when PostgreSQL refuses ``node`` inside a transaction block."""
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if isinstance(node, ast.ReindexStmt) and reindex_concurrent(node):
        return "REINDEX CONCURRENTLY"
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if cmd.subtype == enums.AlterTableType.AT_DetachPartition and cmd.def_.concurrent:
                return "DETACH PARTITION CONCURRENTLY"
    return None


def reindex_concurrent(node: Any) -> bool:
    return any(p.defname == "concurrently" for p in node.params or ())


def rewrite(statements: list[str], new_tables: set[str]) -> Rewritten:
    """Rewrite Django's statements for one operation; ``new_tables`` are empty (just created)."""
    return rewrite_nodes([stmt.node for text in statements for stmt in parse(text)], new_tables)


def rewrite_nodes(nodes: list[Any], new_tables: set[str]) -> Rewritten:
    """:func:`rewrite` of statements parsed already; the nodes are changed in place
    (they are the caller's own parse, read before and never after)."""
    out = Rewritten()
    for node in nodes:
        _rewrite_statement(node, out, new_tables)
        while out.after_column:
            _unique_using_index(*out.after_column.pop(0), out)
    out.expand = [statement for statement in out.expand if statement]
    return out


def _rewrite_statement(node: Any, out: Rewritten, new_tables: set[str]) -> None:
    if isinstance(node, ast.ConstraintsSetStmt):
        return
    if isinstance(node, ast.UpdateStmt):
        out.fills = True
    if isinstance(node, ast.CreateStmt) and node.relation is not None:
        new_tables.add(str(node.relation.relname))
    if _locking_index_statement(node, new_tables):
        _concurrently(node, out)
        return
    if isinstance(node, ast.AlterTableStmt) and relname(node.relation) not in new_tables:
        for cmd in node.cmds or ():
            _rewrite_alter(node, cmd, out)
        return
    out.expand.append(deparse(node))


def _locking_index_statement(node: Any, new_tables: set[str]) -> bool:
    """CREATE INDEX on an existing table, or DROP INDEX, without CONCURRENTLY."""
    if isinstance(node, ast.IndexStmt):
        return not node.concurrent and relname(node.relation) not in new_tables
    return (
        isinstance(node, ast.DropStmt)
        and node.removeType == enums.ObjectType.OBJECT_INDEX
        and not node.concurrent
    )


def _concurrently(node: Any, out: Rewritten) -> None:
    """The index statement made CONCURRENTLY, in place: ``node`` is :func:`rewrite`'s own
    parse and nothing reads it after this (a deep copy cost more than the rest)."""
    clone = node
    clone.concurrent = True
    if isinstance(clone, ast.IndexStmt):
        clone.if_not_exists = True
    else:
        clone.missing_ok = True
    out.expand.append(deparse(clone))
    out.concurrent = True
    out.note(CONCURRENT_INDEX)


def _single(node: Any, cmd: Any) -> Any:
    """``ALTER TABLE`` with only ``cmd`` (Django sometimes emits several in one)."""
    cmds, node.cmds = node.cmds, None
    try:  # the other commands are not copied only to be thrown away
        clone = copy.deepcopy(node)
    finally:
        node.cmds = cmds
    clone.cmds = (copy.deepcopy(cmd),)
    return clone


def _rewrite_alter(node: Any, cmd: Any, out: Rewritten) -> None:
    table = relname(node.relation) or ""
    kind = cmd.subtype
    if kind == enums.AlterTableType.AT_AddColumn:
        _note_default(table, cmd.def_, out)
        cmd = _without_inline_unique(table, cmd, out)
    if kind == enums.AlterTableType.AT_AddColumn and _inline_fk(cmd.def_):
        _split_inline_fk(node, cmd, table, out)
    elif (
        kind == enums.AlterTableType.AT_ColumnDefault
        and cmd.def_ is None
        and ((table, str(cmd.name)) in out.added_defaults)
    ):
        _drop_default_after_deploy(_single(node, cmd), table, str(cmd.name), out)
    elif kind == enums.AlterTableType.AT_DropConstraint:
        out.expand.append(deparse(_single(node, cmd)))
        out.dropped[(table, str(cmd.name))] = len(out.expand) - 1
    elif _readds_dropped_fk(table, cmd, out):
        return
    elif (
        kind == enums.AlterTableType.AT_AddConstraint
        and cmd.def_.contype in (enums.ConstrType.CONSTR_FOREIGN, enums.ConstrType.CONSTR_CHECK)
        and not cmd.def_.skip_validation  # NOT VALID already (a RunSQL's own): left as written
    ):
        _not_valid(_single(node, cmd), cmd.def_.conname, table, out)
    elif (
        kind == enums.AlterTableType.AT_AddConstraint
        and cmd.def_.contype == enums.ConstrType.CONSTR_UNIQUE
        and not cmd.def_.indexname
    ):
        columns = [str(k.sval) for k in cmd.def_.keys]
        _unique_using_index(table, str(cmd.def_.conname), columns, out)
    elif kind == enums.AlterTableType.AT_SetNotNull:
        _not_null_by_check(table, str(cmd.name), out)
    else:
        out.expand.append(deparse(_single(node, cmd)))


def _readds_dropped_fk(table: str, cmd: Any, out: Rewritten) -> bool:
    """Is ``cmd`` Django adding back the foreign key it dropped before altering the column?

    Then both go: the key stays, validated, with its index. (Offline, the dropped key is
    named as Django names keys: ``<table>_<column>_<hash>_fk_<to table>_<to column>``; a key
    re-pointed to another table is a different name, so its drop and add both stay.)
    """
    if cmd.subtype != enums.AlterTableType.AT_AddConstraint:
        return False
    if cmd.def_.contype != enums.ConstrType.CONSTR_FOREIGN:
        return False
    from schemaops.plan import offline_connection

    columns = [str(a.sval) for a in cmd.def_.fk_attrs or ()]
    target = [str(a.sval) for a in cmd.def_.pk_attrs or ()]
    to_table = relname(cmd.def_.pktable) or ""
    suffix = f"_fk_{to_table}_{target[0]}" if len(target) == 1 else "_fk"
    editor = offline_connection(150000).schema_editor(collect_sql=True, atomic=False)
    guess = str(editor._create_index_name(table, columns, suffix=suffix))
    position = out.dropped.pop((table, guess), None)
    if position is None:
        return False
    out.expand[position] = ""
    return True


def _note_default(table: str, coldef: Any, out: Rewritten) -> None:
    constraints = coldef.constraints or ()
    default = next((c for c in constraints if c.contype == enums.ConstrType.CONSTR_DEFAULT), None)
    not_null = any(c.contype == enums.ConstrType.CONSTR_NOTNULL for c in constraints)
    if default is not None and not_null:
        out.added_defaults[(table, str(coldef.colname))] = deparse(default.raw_expr)


def _drop_default_after_deploy(node: Any, table: str, column: str, out: Rewritten) -> None:
    out.contract.append(deparse(node))
    default = out.added_defaults[(table, column)]
    out.contract_undo.append(
        f"ALTER TABLE {ident(table)} ALTER COLUMN {ident(column)} SET DEFAULT {default}"
    )
    out.note(DEFAULT_UNTIL_DEPLOYED)


def _not_valid(node: Any, name: str, table: str, out: Rewritten) -> None:
    node.cmds[0].def_.skip_validation = True
    node.cmds[0].def_.initially_valid = False
    out.expand.append(deparse(node))
    out.validate.append(f"ALTER TABLE {ident(table)} VALIDATE CONSTRAINT {ident(name)}")
    out.note(NOT_VALID)


def _inline_fk(coldef: Any) -> bool:
    return any(c.contype == enums.ConstrType.CONSTR_FOREIGN for c in coldef.constraints or ())


def _split_inline_fk(node: Any, cmd: Any, table: str, out: Rewritten) -> None:
    """``ADD COLUMN c REFERENCES t`` as a plain column plus a NOT VALID foreign key."""
    add = _single(node, cmd)
    coldef = add.cmds[0].def_
    fk, attrs, kept = None, [], []
    for constraint in coldef.constraints or ():
        if constraint.contype == enums.ConstrType.CONSTR_FOREIGN:
            fk = constraint
        elif constraint.contype in _DEFERRAL:
            attrs.append(constraint.contype)
        else:
            kept.append(constraint)
    coldef.constraints = tuple(kept) or None
    out.expand.append(deparse(add))
    assert fk is not None
    fk = copy.deepcopy(fk)
    fk.fk_attrs = (ast.String(sval=str(coldef.colname)),)
    fk.deferrable = enums.ConstrType.CONSTR_ATTR_DEFERRABLE in attrs
    fk.initdeferred = enums.ConstrType.CONSTR_ATTR_DEFERRED in attrs
    cmd_fk = ast.AlterTableCmd(subtype=enums.AlterTableType.AT_AddConstraint, def_=fk)
    stmt = copy.deepcopy(node)
    stmt.cmds = (cmd_fk,)
    _not_valid(stmt, str(fk.conname), table, out)


_DEFERRAL = (
    enums.ConstrType.CONSTR_ATTR_DEFERRABLE,
    enums.ConstrType.CONSTR_ATTR_DEFERRED,
    enums.ConstrType.CONSTR_ATTR_NOT_DEFERRABLE,
    enums.ConstrType.CONSTR_ATTR_IMMEDIATE,
)


def _without_inline_unique(table: str, cmd: Any, out: Rewritten) -> Any:
    """``ADD COLUMN c ... UNIQUE`` as a plain column and a unique index built concurrently
    (PostgreSQL would build the index under ACCESS EXCLUSIVE, scanning the table)."""
    from django.db.backends.utils import truncate_name

    constraints = cmd.def_.constraints or ()
    unique = [c for c in constraints if c.contype == enums.ConstrType.CONSTR_UNIQUE]
    if not unique:
        return cmd
    clone = copy.deepcopy(cmd)
    kept = tuple(c for c in constraints if c.contype != enums.ConstrType.CONSTR_UNIQUE)
    clone.def_.constraints = kept or None
    column = str(cmd.def_.colname)
    name = unique[0].conname or truncate_name(f"{table}_{column}_key", 63)
    out.after_column.append((table, str(name), [column]))
    return clone


def _unique_using_index(table: str, name: str, columns: list[str], out: Rewritten) -> None:
    column_list = ", ".join(ident(c) for c in columns)
    out.expand.append(
        f"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS {ident(name)} "
        f"ON {ident(table)} ({column_list})"
    )
    out.validate.append(
        f"ALTER TABLE {ident(table)} ADD CONSTRAINT {ident(name)} UNIQUE USING INDEX {ident(name)}"
    )
    out.undo_after.append(f"DROP INDEX CONCURRENTLY IF EXISTS {ident(name)}")
    out.concurrent = True
    out.note(UNIQUE_USING_INDEX)


def _not_null_by_check(table: str, column: str, out: Rewritten) -> None:
    from django.db.backends.utils import truncate_name

    name = str(truncate_name(f"{table}_{column}_notnull", 63))
    out.expand.append(
        f"ALTER TABLE {ident(table)} ADD CONSTRAINT {ident(name)} "
        f"CHECK ({ident(column)} IS NOT NULL) NOT VALID"
    )
    out.validate += [
        f"ALTER TABLE {ident(table)} VALIDATE CONSTRAINT {ident(name)}",
        f"ALTER TABLE {ident(table)} ALTER COLUMN {ident(column)} SET NOT NULL",
        f"ALTER TABLE {ident(table)} DROP CONSTRAINT {ident(name)}",
    ]
    out.undo_before.append(f"ALTER TABLE {ident(table)} DROP CONSTRAINT IF EXISTS {ident(name)}")
    out.not_null_checks.append((table, column, name))
    out.note(NOT_NULL_BY_CHECK)


def reversible(statements: list[str]) -> list[str]:
    """Django's reverse statements, tolerant of a half-applied forward (``IF EXISTS``),
    without the unchanged foreign key Django drops and adds back around an ALTER COLUMN."""
    out = Rewritten()
    for text in statements:
        for stmt in parse(text):
            node = stmt.node
            if isinstance(node, ast.ConstraintsSetStmt):
                continue
            if isinstance(node, ast.DropStmt):
                node.missing_ok = True
            if not isinstance(node, ast.AlterTableStmt):
                out.expand.append(deparse(node))
                continue
            table = relname(node.relation) or ""
            for cmd in node.cmds or ():
                if _readds_dropped_fk(table, cmd, out):
                    continue
                if cmd.subtype in (
                    enums.AlterTableType.AT_DropConstraint,
                    enums.AlterTableType.AT_DropColumn,
                ):
                    cmd.missing_ok = True
                out.expand.append(deparse(_single(node, cmd)))
                if cmd.subtype == enums.AlterTableType.AT_DropConstraint:
                    out.dropped[(table, str(cmd.name))] = len(out.expand) - 1
    return [statement for statement in out.expand if statement]
