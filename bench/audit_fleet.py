"""The fleet-sized schema the audit benchmark runs on, built once and kept between runs.

``--tables`` relations (partitioned parents and their partitions included) spread
over ``--schemas`` tenant schemas, five indexes each:

* a plain table: bigserial primary key, a foreign key to the previous table of
  its schema (indexed on every other table), json and timestamp columns, and
  indexes on (a), (a, b) (so (a) is a redundant prefix), (c), and (parent_id) or (d);
* every ``PARTITION_EVERY``-th slot: a partitioned table with ``PARTITIONS``
  partitions (primary key (id, created), a foreign key without an index, and
  indexes on (a), (a, b), (c), (created)), whose indexes the partitions carry as copies.

The first table of each schema holds ``ROWS`` rows and then loses half of them
(bloat, unused indexes of a real size); one table per schema gets a NOT VALID
check and an index left invalid by a failed ``CREATE UNIQUE INDEX
CONCURRENTLY``. The DDL runs as a server-side function, one transaction per
``BATCH`` tables, so that no transaction takes more than a few hundred locks of
the shared lock table.
"""

from __future__ import annotations

import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
from psycopg2 import sql

LAYOUT = 3  # bump when the generated schema changes: a kept database is then rebuilt
PARTITION_EVERY = 50  # a partitioned group (1 + PARTITIONS slots) starts each block of 50
BATCH = PARTITION_EVERY  # tables per transaction; a group never straddles two
PARTITIONS = 4
ROWS = 60_000
JOBS = 2  # connections building schemas side by side

BUILDER = """
CREATE FUNCTION pg_temp.bench_tables(s text, first int, last int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  i int := first;
  prev int := first - 1;  -- the last plain table: what the next foreign key references
  fk text;
BEGIN
  WHILE i <= last LOOP
    fk := CASE WHEN prev >= 1 THEN format('REFERENCES %I.t%s', s, prev) ELSE '' END;
    IF i > 1 AND i % {every} = 1 AND i + {parts} <= last THEN
      EXECUTE format('CREATE TABLE %I.t%s (id bigint NOT NULL, created date NOT NULL,
                      parent_id bigint %s, a int, b int, c varchar(40),
                      PRIMARY KEY (id, created)) PARTITION BY RANGE (created)', s, i, fk);
      EXECUTE format('CREATE INDEX ON %I.t%s (a)', s, i);
      EXECUTE format('CREATE INDEX ON %I.t%s (a, b)', s, i);
      EXECUTE format('CREATE INDEX ON %I.t%s (c)', s, i);
      EXECUTE format('CREATE INDEX ON %I.t%s (created)', s, i);
      FOR p IN 1..{parts} LOOP
        EXECUTE format('CREATE TABLE %I.t%s_p%s PARTITION OF %I.t%s
                        FOR VALUES FROM (%L) TO (%L)', s, i, p, s, i,
                       make_date(2020 + p, 1, 1), make_date(2021 + p, 1, 1));
      END LOOP;
      i := i + {parts} + 1;
      CONTINUE;
    END IF;
    EXECUTE format(
      'CREATE TABLE %I.t%s (id bigserial PRIMARY KEY, parent_id bigint %s, a int, b int,
                            c varchar(40), d timestamp, e json)', s, i, fk);
    EXECUTE format('CREATE INDEX ON %I.t%s (a)', s, i);
    EXECUTE format('CREATE INDEX ON %I.t%s (a, b)', s, i);
    EXECUTE format('CREATE INDEX ON %I.t%s (c)', s, i);
    IF i % 2 = 0 THEN
      EXECUTE format('CREATE INDEX ON %I.t%s (parent_id)', s, i);
    ELSE
      EXECUTE format('CREATE INDEX ON %I.t%s (d)', s, i);
    END IF;
    prev := i;
    i := i + 1;
  END LOOP;
END $$
""".replace("{every}", str(PARTITION_EVERY)).replace("{parts}", str(PARTITIONS))


def schema_names(schemas: int) -> list[str]:
    return [f"tenant_{k:03d}" for k in range(schemas)]


def wanted(tables: int, schemas: int) -> dict[str, Any]:
    return {"layout": LAYOUT, "tables": tables, "schemas": schemas}


def kept_parameters(admin: Any, dbname: str) -> dict[str, Any] | None:
    """The parameters a kept database was built with (its comment), or None."""
    with admin.cursor() as cur:
        cur.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (dbname,),
        )
        row = cur.fetchone()
    if row is None or not row[0]:
        return None
    try:
        found: dict[str, Any] = json.loads(row[0])
    except ValueError:
        return None
    return found


def build(admin: Any, params: dict[str, Any], dbname: str, tables: int, schemas: int) -> float:
    """Drop and create ``dbname`` with the fleet schema; the seconds it took."""
    name = sql.Identifier(dbname)
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        cur.execute(sql.SQL("CREATE DATABASE {}").format(name))
    started = time.perf_counter()
    names = schema_names(schemas)
    with ThreadPoolExecutor(JOBS) as pool:
        shares = [names[k::JOBS] for k in range(JOBS)]
        for done in [
            pool.submit(_build_schemas, params, dbname, s, tables // schemas) for s in shares
        ]:
            done.result()
    conn = psycopg2.connect(dbname=dbname, **params)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("ANALYZE")
    finally:
        conn.close()
    with admin.cursor() as cur:
        comment = json.dumps(wanted(tables, schemas))
        cur.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(name, sql.Literal(comment)))
    return time.perf_counter() - started


def _build_schemas(params: dict[str, Any], dbname: str, schemas: list[str], per: int) -> None:
    conn = psycopg2.connect(dbname=dbname, **params)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")  # this session only: a scratch database
            cur.execute(BUILDER)
            for schema in schemas:
                cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
                for first in range(1, per + 1, BATCH):
                    last = min(first + BATCH - 1, per)
                    cur.execute("SELECT pg_temp.bench_tables(%s, %s, %s)", (schema, first, last))
                _plant(conn, schema)
    finally:
        conn.close()


def _plant(conn: Any, schema: str) -> None:
    """Data and the problems a fleet has: bloat, an invalid index, a NOT VALID check."""
    t1 = sql.SQL("{}.t1").format(sql.Identifier(schema))
    t3 = sql.SQL("{}.t3").format(sql.Identifier(schema))
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "INSERT INTO {} (a, b, c, d) SELECT g %% 97, g, md5(g::text), now() "
                "FROM generate_series(1, %s) g"
            ).format(t1),
            (ROWS,),
        )
        cur.execute(sql.SQL("DELETE FROM {} WHERE id % 2 = 0").format(t1))
        cur.execute(sql.SQL("INSERT INTO {} (a) VALUES (1), (1)").format(t3))
        cur.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT a_positive CHECK (a > 0) NOT VALID").format(t3)
        )
        with contextlib.suppress(psycopg2.errors.UniqueViolation):  # left behind INVALID
            cur.execute(sql.SQL("CREATE UNIQUE INDEX CONCURRENTLY t3_a_uniq ON {} (a)").format(t3))


def count_indexes(params: dict[str, Any], dbname: str) -> tuple[int, int]:
    """(relations, indexes) in the tenant schemas."""
    conn = psycopg2.connect(dbname=dbname, **params)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FILTER (WHERE c.relkind IN ('r', 'p')),"
                "       count(*) FILTER (WHERE c.relkind IN ('i', 'I'))"
                " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname LIKE 'tenant\\_%%'"
            )
            tables, indexes = cur.fetchone()
            return int(tables), int(indexes)
    finally:
        conn.close()
