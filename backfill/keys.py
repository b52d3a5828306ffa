"""Key ranges over any primary key: UUID, text, composite (Django 5.2's CompositePrimaryKey).

An integer key is cut with arithmetic on the key itself (see :mod:`ledger`). Any other
key is walked in the order of its primary-key index, with every boundary found by an
index probe (``ORDER BY key OFFSET n LIMIT 1``) and compared as a row value, ``(a, b)
>= (x, y)``, which the btree answers directly. Key values travel as text and are cast
back to the column's own type in SQL, so any type with a btree order works.

Batches of such a run keep integer ``lo``/``hi`` as ordinals (their place in key order,
:data:`ORDINAL_STEP` apart), so the ledger's uniqueness, ordering and overlap checks
stay as they are; the keys themselves are in ``lo_key``/``hi_key``. A range is split at
a probed middle key and the middle ordinal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.db.backends.postgresql.psycopg_any import sql  # the driver Django uses

ORDINAL_STEP = 1 << 20  # room for 20 halvings of one cut range
Key = tuple[str, ...]


@dataclass(frozen=True)
class KeyRange:
    """Keys ``lo <= key < hi``, or ``lo <= key <= last`` for the run's final range.

    ``table`` is the leaf partition the range lies in when the run's table is partitioned
    ("" otherwise): the range is cut, updated and split on that leaf alone.
    """

    lo: Key
    hi: Key | None
    last: Key
    table: str = ""


@dataclass(frozen=True)
class Keyset:
    """The primary-key columns of a table, in index order, with their SQL types."""

    table: str
    columns: tuple[str, ...]
    types: tuple[str, ...]

    @property
    def row(self) -> Any:
        """The key as compared: the column itself, or a row of the columns."""
        names = sql.SQL(", ").join(map(sql.Identifier, self.columns))
        return names if len(self.columns) == 1 else sql.SQL("({})").format(names)

    def value(self, key: Key) -> Any:
        """``key`` as literals cast to the columns' types, shaped like :attr:`row`."""
        values = sql.SQL(", ").join(
            sql.SQL("{}::{}").format(sql.Literal(v), sql.SQL(t))
            for v, t in zip(key, self.types, strict=True)
        )
        return values if len(self.columns) == 1 else sql.SQL("ROW({})").format(values)

    def on(self, table: str) -> Keyset:
        """The same key on another relation (a leaf partition of this table); "" keeps it."""
        return replace(self, table=table) if table else self

    def as_text(self) -> Any:
        return sql.SQL("ARRAY[{}]").format(
            sql.SQL(", ").join(sql.SQL("{}::text").format(sql.Identifier(c)) for c in self.columns)
        )

    def order(self) -> Any:
        return sql.SQL(", ").join(map(sql.Identifier, self.columns))

    def within(self, rng: KeyRange) -> Any:
        """The predicate of ``rng`` (an index range scan)."""
        upper = (
            sql.SQL("{} < {}").format(self.row, self.value(rng.hi))
            if rng.hi is not None
            else sql.SQL("{} <= {}").format(self.row, self.value(rng.last))
        )
        return sql.SQL("{} >= {} AND {}").format(self.row, self.value(rng.lo), upper)

    def end(self, cursor: Any, descending: bool) -> Key | None:
        """The first or last key of the table (one index probe)."""
        direction = sql.SQL(" DESC" if descending else "")
        order = sql.SQL(", ").join(
            sql.SQL("{}{}").format(sql.Identifier(c), direction) for c in self.columns
        )
        cursor.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY {} LIMIT 1")
            .format(self.as_text(), sql.Identifier(self.table), order)
            .as_string(cursor.connection)
        )
        row = cursor.fetchone()
        return tuple(row[0]) if row else None

    def boundary(self, cursor: Any, start: Key, rows: int, last: Key) -> Key | None:
        """The key ``rows`` rows after ``start`` (None when fewer remain before ``last``)."""
        cursor.execute(
            sql.SQL("SELECT {} FROM {} WHERE {} >= {} AND {} <= {} ORDER BY {} OFFSET {} LIMIT 1")
            .format(
                self.as_text(),
                sql.Identifier(self.table),
                self.row,
                self.value(start),
                self.row,
                self.value(last),
                self.order(),
                sql.Literal(rows),
            )
            .as_string(cursor.connection)
        )
        row = cursor.fetchone()
        return tuple(row[0]) if row else None

    def middle(self, cursor: Any, rng: KeyRange) -> Key | None:
        """The key halfway through ``rng`` by row count; None for a range of one row."""
        within = self.within(rng)
        cursor.execute(
            sql.SQL(
                "SELECT {k} FROM {t} WHERE {w} ORDER BY {o}"
                " OFFSET (SELECT count(*) / 2 FROM {t} WHERE {w}) LIMIT 1"
            )
            .format(k=self.as_text(), t=sql.Identifier(self.table), w=within, o=self.order())
            .as_string(cursor.connection)
        )
        row = cursor.fetchone()
        found = tuple(row[0]) if row else None
        return None if found is None or found == rng.lo else found


_TYPES_SQL = """
SELECT format_type(a.atttypid, a.atttypmod) FROM unnest(%s::text[]) WITH ORDINALITY c(name, n)
JOIN pg_attribute a ON a.attrelid = to_regclass(quote_ident(%s)) AND a.attname = c.name
ORDER BY c.n
"""


def keyset(cursor: Any, table: str, columns: tuple[str, ...]) -> Keyset:
    """The key's columns with their types, read from the server."""
    cursor.execute(_TYPES_SQL, [list(columns), table])
    return Keyset(table, columns, tuple(str(t) for (t,) in cursor.fetchall()))


# The leaf partitions of a table, every level down (sub-partitions and a default
# partition included); a table that is not partitioned is its own only leaf.
_LEAVES_SQL = """
SELECT c.relname FROM pg_partition_tree(to_regclass(quote_ident(%s))) t
JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf ORDER BY c.relname
"""


def leaves(cursor: Any, table: str) -> list[str]:
    """The relations that hold ``table``'s rows: its leaf partitions, or itself."""
    cursor.execute(_LEAVES_SQL, [table])
    return [str(name) for (name,) in cursor.fetchall()] or [table]


def is_partitioned(cursor: Any, table: str) -> bool:
    cursor.execute(
        "SELECT relkind = 'p' FROM pg_class WHERE oid = to_regclass(quote_ident(%s))", [table]
    )
    row = cursor.fetchone()
    return bool(row and row[0])


# Columns of the partition key at any level of the tree (an expression key has no column).
PARTITION_KEY_SQL = """
SELECT DISTINCT a.attname FROM pg_partition_tree(to_regclass(quote_ident(%s))) t
JOIN pg_partitioned_table p ON p.partrelid = t.relid
JOIN pg_attribute a ON a.attrelid = t.relid AND a.attnum = ANY(p.partattrs::int2[])
WHERE a.attname = ANY(%s) ORDER BY 1
"""
