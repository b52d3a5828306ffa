"""Catalog snapshots and the diff between two of them (what one statement changed).

The same facts the tracer eugene records: user relations
with their ``relfilenode`` (a new one means the relation was rewritten),
columns from ``pg_attribute`` (type, NOT NULL), constraints from
``pg_constraint`` (``convalidated``, definition), and the relation locks the
current backend holds in ``pg_locks``. System schemas are left out, so the
catalog locks that the snapshot queries take themselves never show up.

Every function takes a DB-API cursor on the traced connection (psycopg 2 or 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_USER_NS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp%%'"
)

RELATIONS_SQL = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relfilenode
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'i', 'I', 'S', 'm') AND {_USER_NS}
"""

COLUMNS_SQL = f"""
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') AND {_USER_NS}
"""

CONSTRAINTS_SQL = f"""
SELECT con.conrelid, con.conname, con.contype, con.convalidated, pg_get_constraintdef(con.oid)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_NS}
"""

OWN_LOCKS_SQL = """
SELECT relation, mode FROM pg_locks
WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted
"""

PID_LOCKS_SQL = """
SELECT relation, mode FROM pg_locks
WHERE pid = %s AND locktype = 'relation' AND granted
"""

KIND_NAMES = {"r": "table", "p": "table", "i": "index", "I": "index", "S": "sequence"}
KIND_NAMES["m"] = "materialized view"


@dataclass(frozen=True)
class Relation:
    oid: int
    schema: str
    name: str
    kind: str  # "table", "index", "sequence", ...
    filenode: int

    @property
    def label(self) -> str:
        return self.name if self.schema == "public" else f"{self.schema}.{self.name}"


@dataclass
class Snapshot:
    """The user part of the catalog at one moment."""

    relations: dict[int, Relation] = field(default_factory=dict)
    # relation oid -> column name -> (type, NOT NULL, default expression)
    columns: dict[int, dict[str, tuple[str, bool, str | None]]] = field(default_factory=dict)
    # relation oid -> constraint name -> (contype, convalidated, definition)
    constraints: dict[int, dict[str, tuple[str, bool, str]]] = field(default_factory=dict)

    def name(self, oid: int) -> str:
        rel = self.relations.get(oid)
        return rel.label if rel else str(oid)

    def restrict(self, oids: set[int]) -> Snapshot:
        """The part about ``oids`` only (cost follows ``oids``, not the catalog)."""
        return Snapshot(
            {o: self.relations[o] for o in oids if o in self.relations},
            {o: self.columns[o] for o in oids if o in self.columns},
            {o: self.constraints[o] for o in oids if o in self.constraints},
        )

    def replace(self, part: Snapshot, oids: set[int]) -> None:
        """Replace, in place, everything about ``oids`` by ``part``."""
        for table in (self.relations, self.columns, self.constraints):
            for oid in oids:
                table.pop(oid, None)  # type: ignore[attr-defined]
        self.relations.update(part.relations)
        self.columns.update(part.columns)
        self.constraints.update(part.constraints)


def take(cur: Any, oids: set[int] | None = None) -> Snapshot:
    """Read relations, columns and constraints of every user schema (or of ``oids`` only).

    A statement can only create, drop, rewrite or alter a relation it locks, so
    the tracer reads just the relations its transaction holds locks on; the
    cost then follows what the migration touches, not the size of the catalog.
    """
    snap = Snapshot()
    args: tuple[Any, ...] = ()
    extra = {"relations": "", "columns": "", "constraints": ""}
    if oids is not None:
        args = (sorted(oids),)
        extra = {
            "relations": " AND c.oid = ANY(%s::oid[])",
            "columns": " AND a.attrelid = ANY(%s::oid[])",
            "constraints": " AND con.conrelid = ANY(%s::oid[])",
        }
    cur.execute(RELATIONS_SQL + extra["relations"], args or None)
    for oid, schema, name, kind, filenode in cur.fetchall():
        snap.relations[int(oid)] = Relation(
            int(oid), schema, name, KIND_NAMES.get(kind, kind), int(filenode)
        )
    cur.execute(COLUMNS_SQL + extra["columns"], args or None)
    for relid, attname, typ, notnull, default in cur.fetchall():
        snap.columns.setdefault(int(relid), {})[attname] = (typ, bool(notnull), default)
    cur.execute(CONSTRAINTS_SQL + extra["constraints"], args or None)
    for relid, name, contype, validated, definition in cur.fetchall():
        snap.constraints.setdefault(int(relid), {})[name] = (contype, bool(validated), definition)
    return snap


def own_locks(cur: Any) -> set[tuple[int, str]]:
    """(relation oid, mode) of every relation lock this backend holds."""
    cur.execute(OWN_LOCKS_SQL)
    return {(int(rel), mode) for rel, mode in cur.fetchall() if rel is not None}


def backend_pid(cur: Any) -> int:
    cur.execute("SELECT pg_backend_pid()")
    return int(cur.fetchone()[0])


@dataclass
class Changes:
    """What changed in the catalog between two snapshots, in words."""

    rewritten: list[str] = field(default_factory=list)  # relation labels
    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    constraints: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any((self.rewritten, self.created, self.dropped, self.columns, self.constraints))


def diff(before: Snapshot, after: Snapshot) -> Changes:
    """Relations rewritten/created/dropped, columns and constraints added or changed."""
    out = Changes()
    for oid, rel in after.relations.items():
        old = before.relations.get(oid)
        if old is None:
            out.created.append(f"{rel.kind} {rel.label}")
        elif old.filenode != rel.filenode and rel.filenode != 0:
            out.rewritten.append(rel.label)
    out.dropped = [
        f"{r.kind} {r.label}" for oid, r in before.relations.items() if oid not in after.relations
    ]
    out.columns = _column_changes(before, after)
    out.constraints = _constraint_changes(before, after)
    return out


def _flat(nested: dict[int, dict[str, Any]]) -> dict[tuple[int, str], Any]:
    return {(oid, name): v for oid, inner in nested.items() for name, v in inner.items()}


def _column_changes(before: Snapshot, after: Snapshot) -> list[str]:
    changes = []
    old_columns, new_columns = _flat(before.columns), _flat(after.columns)
    for key, (typ, notnull, default) in new_columns.items():
        where = f"{after.name(key[0])}.{key[1]}"
        old = old_columns.get(key)
        if old is None:
            if key[0] in before.relations:  # columns of a new table are not news
                changes.append(f"added {where} {typ}{' NOT NULL' if notnull else ''}")
            continue
        if old[0] != typ:
            changes.append(f"type of {where}: {old[0]} -> {typ}")
        if old[1] != notnull:
            changes.append(f"{where}: {'SET' if notnull else 'DROP'} NOT NULL")
        if old[2] != default:
            changes.append(
                f"{where}: SET DEFAULT {default}" if default else f"{where}: DROP DEFAULT"
            )
    for key in old_columns.keys() - new_columns.keys():
        if key[0] in after.relations:
            changes.append(f"dropped {before.name(key[0])}.{key[1]}")
    return changes


def _constraint_changes(before: Snapshot, after: Snapshot) -> list[str]:
    changes = []
    old_constraints, new_constraints = _flat(before.constraints), _flat(after.constraints)
    for key, (_contype, validated, definition) in new_constraints.items():
        where = f"{key[1]} on {after.name(key[0])}"
        old = old_constraints.get(key)
        if old is None:
            state = "" if validated else " (NOT VALID)"
            changes.append(f"added {where}: {definition}{state}")
        elif not old[1] and validated:
            changes.append(f"validated {where}")
        elif old[2] != definition:
            changes.append(f"changed {where}: {definition}")
    for key in old_constraints.keys() - new_constraints.keys():
        if key[0] in after.relations:
            changes.append(f"dropped {key[1]} on {before.name(key[0])}")
    return changes
