"""``--rows N``: fill the tables a migration touches with N synthetic rows.

Values come from ``generate_series`` and satisfy the usual constraints:
integers count up from 1 (so ``>= 0`` checks and UNIQUE hold), strings start
with the row number (unique, cut to the column's length), foreign keys point
at rows of the referenced table, which is seeded first when it is empty.
Columns with a default (serials, identities) keep it. A table whose rows
PostgreSQL still refuses (an unusual CHECK) is reported in a note and left
empty; tracing goes on.
"""

from __future__ import annotations

from typing import Any

from schemaops.db import sql

COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory, a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
       CASE WHEN a.atttypmod > 4 AND t.typcategory = 'S' THEN a.atttypmod - 4 END,
       (SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = t.oid
        ORDER BY e.enumsortorder LIMIT 1)
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

FOREIGN_KEYS_SQL = """
SELECT a.attname, ref.relname, ra.attname
FROM pg_constraint c
JOIN pg_class ref ON ref.oid = c.confrelid
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
WHERE c.contype = 'f' AND c.conrelid = to_regclass(%s) AND cardinality(c.conkey) = 1
"""

CHUNK = 100_000

# typcategory -> an expression of g, the row number
_BY_CATEGORY = {
    "N": "g",
    "B": "(g % 2 = 0)",
    "D": "now() - g * interval '1 minute'",
    "U": "md5(g::text)::uuid",
    "A": "'{}'",
}


def touched_tables(migrations: list[Any], state: Any) -> set[str]:
    """db_table of every model the operations of ``migrations`` name that exists in ``state``."""
    from schemaops.plan import db_table_for, primary_key_before

    tables = set()
    for migration in migrations:
        for op in migration.operations:
            key = primary_key_before(op, migration.app_label)
            model = state.models.get(key) if key else None
            if model is not None:
                tables.add(db_table_for(model.app_label, model.name, model.options))
    return tables


def seed_tables(conn: Any, tables: set[str], rows: int) -> list[str]:
    """Insert ``rows`` rows into each table (parents first); return notes on failures."""
    notes: list[str] = []
    done: set[str] = set()
    for table in sorted(tables):
        _seed(conn, table, rows, done, notes, depth=0)
    return notes


def _seed(conn: Any, table: str, rows: int, done: set[str], notes: list[str], depth: int) -> None:
    if table in done or depth > 5:
        return
    done.add(table)
    with conn.cursor() as cur:
        cur.execute(FOREIGN_KEYS_SQL, (table,))
        fks = {col: (ref, refcol) for col, ref, refcol in cur.fetchall()}
    for ref, _ in fks.values():
        if ref != table and _is_empty(conn, ref):
            _seed(conn, ref, rows, done, notes, depth + 1)
    try:
        with conn.cursor() as cur:
            # in chunks, so an interrupt (SIGINT/SIGTERM) is handled within a chunk's time
            for low in range(1, rows + 1, CHUNK):
                cur.execute(_insert_sql(conn, table, low, min(rows, low + CHUNK - 1), fks))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or ["failed"])[0]
        notes.append(f"could not seed {table}: {first}")


def _is_empty(conn: Any, table: str) -> bool:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table)))
        return bool(cur.fetchone()[0])


def _insert_sql(
    conn: Any, table: str, low: int, high: int, fks: dict[str, tuple[str, str]]
) -> sql.Composed:
    with conn.cursor() as cur:
        cur.execute(COLUMNS_SQL, (table,))
        columns = cur.fetchall()
    names: list[Any] = []
    values: list[Any] = []
    ctes: list[Any] = []
    for name, typ, category, notnull, has_default, length, enum in columns:
        if has_default and name not in fks:
            continue
        if name in fks:
            ref, refcol = fks[name]
            alias = sql.Identifier(f"fk_{len(ctes)}")
            ctes.append(
                sql.SQL("{} AS (SELECT array_agg({}) AS a FROM {})").format(
                    alias, sql.Identifier(refcol), sql.Identifier(ref)
                )
            )
            expr: Any = sql.SQL("{a}.a[1 + g % cardinality({a}.a)]").format(a=alias)
        else:
            expr = _value(typ, category, length, enum)
            if expr is None:
                if not notnull:
                    continue
                expr = sql.SQL("NULL")
        names.append(sql.Identifier(name))
        values.append(sql.SQL("({})::{}").format(expr, sql.SQL(typ)))
    return _compose(table, (low, high), names, values, ctes)


def _value(typ: str, category: str, length: int | None, enum: str | None) -> Any:
    if enum is not None:
        return sql.Literal(enum)
    if category == "S":
        text = sql.SQL("g::text || '-' || md5(g::text)")
        if length:
            return sql.SQL("left({}, {})").format(text, sql.Literal(length))
        return text
    if typ.startswith("numeric"):
        return sql.SQL("g % 1000")
    if typ in ("json", "jsonb"):
        return sql.SQL("'{}'")
    expr = _BY_CATEGORY.get(category)
    return sql.SQL(expr) if expr else None


def _compose(
    table: str, rows: tuple[int, int], names: list[Any], values: list[Any], ctes: list[Any]
) -> sql.Composed:
    series = sql.SQL("generate_series({}, {}) AS g").format(*map(sql.Literal, rows))
    sources = [series]
    sources += [sql.SQL("fk_{}").format(sql.SQL(str(i))) for i in range(len(ctes))]
    with_clause: Any = sql.SQL("")
    if ctes:
        with_clause = sql.SQL("WITH {} ").format(sql.SQL(", ").join(ctes))
    if not names:
        return sql.SQL("{}INSERT INTO {} SELECT FROM {}").format(
            with_clause, sql.Identifier(table), sql.SQL(", ").join(sources)
        )
    return sql.SQL("{}INSERT INTO {} ({}) SELECT {} FROM {}").format(
        with_clause,
        sql.Identifier(table),
        sql.SQL(", ").join(names),
        sql.SQL(", ").join(values),
        sql.SQL(", ").join(sources),
    )
