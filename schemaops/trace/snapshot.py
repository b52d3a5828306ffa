"""Catalog snapshots and the diff between two of them (what one statement changed).

The same facts eugene records (see ``research/linters.md`` 3.5): user relations
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
    columns: dict[tuple[int, str], tuple[str, bool, str | None]] = field(default_factory=dict)
    constraints: dict[tuple[int, str], tuple[str, bool, str]] = field(default_factory=dict)

    def name(self, oid: int) -> str:
        rel = self.relations.get(oid)
        return rel.label if rel else str(oid)


def take(cur: Any) -> Snapshot:
    """Read relations, columns and constraints of every user schema."""
    snap = Snapshot()
    cur.execute(RELATIONS_SQL)
    for oid, schema, name, kind, filenode in cur.fetchall():
        snap.relations[int(oid)] = Relation(
            int(oid), schema, name, KIND_NAMES.get(kind, kind), int(filenode)
        )
    cur.execute(COLUMNS_SQL)
    for relid, attname, typ, notnull, default in cur.fetchall():
        snap.columns[(int(relid), attname)] = (typ, bool(notnull), default)
    cur.execute(CONSTRAINTS_SQL)
    for relid, name, contype, validated, definition in cur.fetchall():
        snap.constraints[(int(relid), name)] = (contype, bool(validated), definition)
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


def _column_changes(before: Snapshot, after: Snapshot) -> list[str]:
    changes = []
    for key, (typ, notnull, default) in after.columns.items():
        where = f"{after.name(key[0])}.{key[1]}"
        old = before.columns.get(key)
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
    for key in before.columns.keys() - after.columns.keys():
        if key[0] in after.relations:
            changes.append(f"dropped {before.name(key[0])}.{key[1]}")
    return changes


def _constraint_changes(before: Snapshot, after: Snapshot) -> list[str]:
    changes = []
    for key, (_contype, validated, definition) in after.constraints.items():
        where = f"{key[1]} on {after.name(key[0])}"
        old = before.constraints.get(key)
        if old is None:
            state = "" if validated else " (NOT VALID)"
            changes.append(f"added {where}: {definition}{state}")
        elif not old[1] and validated:
            changes.append(f"validated {where}")
        elif old[2] != definition:
            changes.append(f"changed {where}: {definition}")
    for key in before.constraints.keys() - after.constraints.keys():
        if key[0] in after.relations:
            changes.append(f"dropped {key[1]} on {before.name(key[0])}")
    return changes
