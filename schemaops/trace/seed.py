"""``--rows N``: fill the tables a migration touches with N synthetic rows.

Values come from ``generate_series`` (``g``, the row number, from ``first``)
and satisfy the usual constraints: integers count up (so ``>= 0`` checks and
UNIQUE hold), strings start with the row number (unique, cut to the column's
length), foreign keys point at rows of the referenced table, which is seeded
first when it is empty. Columns with a default (serials, identities) keep it.

Every bounded type wraps inside its range (``smallint`` at 32767, ``numeric(p,
s)`` below ``10^(p-s)``, ``varchar(n)``, ``time``, enum labels, ``boolean``),
so any N fits a column that is not unique. A UNIQUE column of a bounded type
holds at most so many distinct values: the table gets that many rows and a
note says so. A table whose rows PostgreSQL still refuses (an unusual CHECK)
gets a note with the rows that did go in. :func:`seed` returns the rows each
table really received, never the number asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemaops.db import sql
from schemaops.tables import django_quoted

COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory, a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
       CASE WHEN a.atttypmod > 4 AND t.typcategory = 'S' THEN a.atttypmod - 4 END,
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e
        WHERE e.enumtypid = t.oid),
       t.typname,
       CASE WHEN t.typname = 'numeric' AND a.atttypmod > 4
            THEN ((a.atttypmod - 4) >> 16) & 65535 END,
       CASE WHEN t.typname = 'numeric' AND a.atttypmod > 4 THEN (a.atttypmod - 4) & 65535 END,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisunique
               AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum AND i.indpred IS NULL)
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

FOREIGN_KEYS_SQL = """
SELECT a.attname, c.confrelid, n.nspname, ref.relname, c.confrelid::regclass::text, ra.attname
FROM pg_constraint c
JOIN pg_class ref ON ref.oid = c.confrelid
JOIN pg_namespace n ON n.oid = ref.relnamespace
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
WHERE c.contype = 'f' AND c.conrelid = %s AND cardinality(c.conkey) = 1
"""

# A model's db_table as Django quotes it (quote_name): a name already in double quotes,
# such as '"billing"."invoice"', is taken as written, so schema-qualified tables resolve.
RELATION_SQL = """
SELECT c.oid, n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass(%s)
"""

CHUNK = 100_000
_DATE_SPAN = 2_000_000  # days back from today that a date still holds (to 4713 BC)

# typname -> the largest positive value of the integer type
_INTEGER_MAX = {"int2": 32_767, "int4": 2_147_483_647, "int8": 9_223_372_036_854_775_807}

# typcategory -> an expression of g, the row number (unbounded in practice)
_BY_CATEGORY = {
    "N": "g",
    "D": "now() - g * interval '1 minute'",
    "U": "md5(g::text)::uuid",
    "A": "'{}'",
    "T": "g * interval '1 second'",
    "I": "'10.0.0.0'::inet + g",
}


@dataclass
class Column:
    """One column as the seeder sees it (a row of ``COLUMNS_SQL``)."""

    name: str
    type: str
    category: str
    notnull: bool
    has_default: bool
    length: int | None
    labels: list[str] | None
    typname: str
    precision: int | None
    scale: int | None
    unique: bool


@dataclass(frozen=True)
class Relation:
    """A table to seed: the name reports show, and where it is (any schema, any case)."""

    name: str  # the model's db_table, or PostgreSQL's regclass text for a referenced table
    oid: int
    ident: sql.Identifier  # schema-qualified, quoted by the driver


@dataclass
class SeedResult:
    """The rows each table really received, and why some got fewer than asked."""

    seeded: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict, repr=False)  # oid -> name shown


def resolve(conn: Any, db_table: str) -> Relation | None:
    """The table Django's SQL for ``db_table`` names, or None when there is none."""
    with conn.cursor() as cur:
        cur.execute(RELATION_SQL, (django_quoted(db_table),))
        row = cur.fetchone()
    if row is None:
        return None
    oid, schema, relname = row
    return Relation(db_table, oid, sql.Identifier(schema, relname))


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
    """Insert ``rows`` rows into each table (parents first); return notes on shortfalls."""
    return seed(conn, tables, rows).notes


def seed(conn: Any, tables: set[str], rows: int, first: int = 1) -> SeedResult:
    """Insert up to ``rows`` rows into each table (parents first), numbered from ``first``.

    ``tables`` are db_table values as models write them: plain, mixed case, or schema
    qualified in Django's quoted form (``'"billing"."invoice"'``); one that names no
    table gets a note instead of rows.
    """
    result = SeedResult()
    relations = []
    for table in sorted(tables):
        relation = resolve(conn, table)
        if relation is None:
            result.notes.append(f"could not seed {table}: no such table")
            continue
        result.names.setdefault(relation.oid, table)
        relations.append(relation)
    for relation in relations:
        _seed(conn, relation, (first, rows), result, depth=0)
    return result


def _seed(
    conn: Any, relation: Relation, span: tuple[int, int], result: SeedResult, depth: int
) -> None:
    table = result.names.setdefault(relation.oid, relation.name)
    if table in result.seeded or depth > 5:
        return
    result.seeded[table] = 0
    with conn.cursor() as cur:
        cur.execute(FOREIGN_KEYS_SQL, (relation.oid,))
        fks = {
            col: (Relation(shown, oid, sql.Identifier(schema, name)), refcol)
            for col, oid, schema, name, shown, refcol in cur.fetchall()
        }
    for ref, _ in fks.values():
        if ref.oid != relation.oid and _is_empty(conn, ref):
            _seed(conn, ref, span, result, depth + 1)
    columns = _columns(conn, relation)
    first, wanted = span
    rows, why = _room(columns, fks, wanted)
    if why:
        result.notes.append(f"seeded {rows} of {wanted} row(s) into {table}: {why}")
    try:
        with conn.cursor() as cur:
            # in chunks, so an interrupt (SIGINT/SIGTERM) is handled within a chunk's time
            for low in range(first, first + rows, CHUNK):
                high = min(first + rows - 1, low + CHUNK - 1)
                cur.execute(_insert_sql(relation, (low, high), columns, fks))
                result.seeded[table] += max(cur.rowcount, 0)
    except Exception as exc:
        message = (str(exc).strip().splitlines() or ["failed"])[0]
        done = result.seeded[table]
        result.notes.append(f"could not seed {table}: {message} ({done} of {wanted} row(s) in)")


def _columns(conn: Any, relation: Relation) -> list[Column]:
    with conn.cursor() as cur:
        cur.execute(COLUMNS_SQL, (relation.oid,))
        return [Column(*row) for row in cur.fetchall()]


def _is_empty(conn: Any, relation: Relation) -> bool:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(relation.ident))
        return bool(cur.fetchone()[0])


def capacity(column: Column) -> int | None:
    """How many distinct values the seeder can put in ``column`` (None: no practical limit)."""
    if column.labels:
        return len(column.labels)
    if column.typname == "bool":
        return 2
    if column.typname in _INTEGER_MAX:
        return _INTEGER_MAX[column.typname]
    if column.precision is not None:
        return int(10 ** min(column.precision, 30)) - 1
    if column.category == "S" and column.length:
        return int(10 ** min(column.length, 30)) - 1
    if column.typname == "date":
        return _DATE_SPAN
    if column.typname in ("time", "timetz"):
        return 86_400
    if column.category == "I":
        return 2**24  # from 10.0.0.0
    return None


def _room(columns: list[Column], fks: dict[str, Any], wanted: int) -> tuple[int, str]:
    """The rows that fit the table's UNIQUE bounded columns, and why when fewer than wanted."""
    rows, why = wanted, ""
    for column in columns:
        if not column.unique or column.name in fks or column.has_default:
            continue
        cap = capacity(column)
        if cap is not None and cap < rows:
            rows = cap
            why = f"{column.name} ({column.type}) is unique and holds {cap} distinct value(s)"
    return rows, why


def _insert_sql(
    table: Relation,
    rows: tuple[int, int],
    columns: list[Column],
    fks: dict[str, tuple[Relation, str]],
) -> sql.Composed:
    names: list[Any] = []
    values: list[Any] = []
    ctes: list[Any] = []
    for column in columns:
        if column.has_default and column.name not in fks:
            continue
        if column.name in fks:
            ref, refcol = fks[column.name]
            alias = sql.Identifier(f"fk_{len(ctes)}")
            ctes.append(
                sql.SQL("{} AS (SELECT array_agg({}) AS a FROM {})").format(
                    alias, sql.Identifier(refcol), ref.ident
                )
            )
            expr: Any = sql.SQL("{a}.a[1 + g % cardinality({a}.a)]").format(a=alias)
        else:
            expr = value_of(column)
            if expr is None:
                if not column.notnull:
                    continue
                expr = sql.SQL("NULL")
        names.append(sql.Identifier(column.name))
        values.append(sql.SQL("({})::{}").format(expr, sql.SQL(column.type)))
    return _compose(table, rows, names, values, ctes)


def value_of(column: Column) -> Any:
    """An SQL expression of ``g`` that stays inside the column's type for every ``g >= 1``."""
    cap = capacity(column)
    # 1 .. cap, then round again: distinct while g <= cap, always in range
    wrapped = sql.SQL("(1 + (g - 1) % {})").format(sql.Literal(cap)) if cap else sql.SQL("g")
    if column.labels:
        return sql.SQL("({})[{}]").format(sql.Literal(column.labels), wrapped)
    if column.typname == "bool":
        return sql.SQL("({} = 2)").format(wrapped)
    if column.category == "S":
        text = sql.SQL("{}::text || '-' || md5(g::text)").format(wrapped)
        if column.length:
            return sql.SQL("left({}, {})").format(text, sql.Literal(column.length))
        return text
    if column.precision is not None:
        return sql.SQL("{} / {}::numeric").format(wrapped, sql.Literal(10 ** (column.scale or 0)))
    if column.typname in _INTEGER_MAX:
        return wrapped
    if column.typname == "date":
        return sql.SQL("current_date - {}::int").format(wrapped)
    if column.typname in ("time", "timetz"):
        return sql.SQL("time '00:00' + {} * interval '1 second'").format(wrapped)
    if column.typname in ("json", "jsonb"):
        return sql.SQL("'{}'")
    if column.typname == "bytea":
        return sql.SQL("convert_to(g::text, 'UTF8')")
    expr = _BY_CATEGORY.get(column.category)
    return sql.SQL(expr) if expr else None


def _compose(
    table: Relation, rows: tuple[int, int], names: list[Any], values: list[Any], ctes: list[Any]
) -> sql.Composed:
    series = sql.SQL("generate_series({}, {}) AS g").format(*map(sql.Literal, rows))
    sources = [series]
    sources += [sql.SQL("fk_{}").format(sql.SQL(str(i))) for i in range(len(ctes))]
    with_clause: Any = sql.SQL("")
    if ctes:
        with_clause = sql.SQL("WITH {} ").format(sql.SQL(", ").join(ctes))
    if not names:
        return sql.SQL("{}INSERT INTO {} SELECT FROM {}").format(
            with_clause, table.ident, sql.SQL(", ").join(sources)
        )
    return sql.SQL("{}INSERT INTO {} ({}) SELECT {} FROM {}").format(
        with_clause,
        table.ident,
        sql.SQL(", ").join(names),
        sql.SQL(", ").join(values),
        sql.SQL(", ").join(sources),
    )
