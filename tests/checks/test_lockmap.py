"""The static lock map against PostgreSQL's own pg_locks.

Every statement and Django operation below runs for real, inside a
transaction that is rolled back, on a scratch database; the strongest lock
PostgreSQL took on each pre-existing table must equal the map's claim, and a
table whose file was rewritten (relfilenode changed) must be claimed slow.
CONCURRENTLY forms cannot run in a transaction; they are checked statically.
"""

from __future__ import annotations

from typing import Any

import psycopg2
import pytest
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState
from lintkit import APP, FakeLoader, make_migration
from models import customer_model, order_model

from schemaops.checks._lockmap import (
    merge,
    operation_locks,
    operation_steps,
    statement_locks,
)
from schemaops.columns import binary_coercible, normal_type, utc_session
from schemaops.config import Config
from schemaops.linter import Linter
from schemaops.locks import Lock
from schemaops.rules import Rule
from schemaops.statements import parse

AE, SRE, SHARE = Lock.ACCESS_EXCLUSIVE, Lock.SHARE_ROW_EXCLUSIVE, Lock.SHARE
SUE, RX = Lock.SHARE_UPDATE_EXCLUSIVE, Lock.ROW_EXCLUSIVE

SQL_SETUP = """
CREATE TABLE parent (id bigint PRIMARY KEY, name varchar(20));
CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent(id),
                    code varchar(10), amount numeric(10,2), at timestamp(3));
CREATE INDEX child_code_idx ON child (code);
ALTER TABLE child ADD CONSTRAINT child_amount_check CHECK (amount > 0) NOT VALID;
ALTER TABLE child ADD COLUMN label varchar(10) CONSTRAINT child_label_check CHECK (label <> '');
CREATE DOMAIN posint AS integer;
ALTER DOMAIN posint ADD CONSTRAINT posint_nonzero CHECK (VALUE <> 0) NOT VALID;
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE SCHEMA s1;
CREATE TABLE other (id bigint PRIMARY KEY, parent_id bigint, net cidr, p posint,
                    tags varchar(10)[], seen timestamp);
CREATE INDEX other_seen_idx ON other (seen);
CREATE TABLE part (id bigint, d date) PARTITION BY RANGE (d);
CREATE TABLE part_2024 PARTITION OF part FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO parent VALUES (1, 'a');
INSERT INTO child VALUES (1, 1, 'x', 1, now());
"""

STATEMENTS = [
    "ALTER TABLE child ADD COLUMN note text",
    "ALTER TABLE child ADD COLUMN n int DEFAULT 0",
    "ALTER TABLE child ADD COLUMN r float8 DEFAULT random()",
    "ALTER TABLE child ADD COLUMN s bigserial",
    "ALTER TABLE child ADD COLUMN g int GENERATED ALWAYS AS (id * 2) STORED",
    "ALTER TABLE child ADD COLUMN ident bigint GENERATED ALWAYS AS IDENTITY",
    "ALTER TABLE child ADD COLUMN p2 bigint REFERENCES parent (id)",  # all NULL: no validation
    "ALTER TABLE child ADD COLUMN p3 bigint DEFAULT 1 REFERENCES parent (id)",
    "ALTER TABLE child DROP COLUMN parent_id",
    "ALTER TABLE child DROP COLUMN code",
    "ALTER TABLE child ALTER COLUMN code TYPE varchar(40)",
    "ALTER TABLE child ALTER COLUMN code TYPE text",
    "ALTER TABLE child ALTER COLUMN code TYPE varchar(5)",
    "ALTER TABLE child ALTER COLUMN amount TYPE numeric(12,2)",
    "ALTER TABLE child ALTER COLUMN amount TYPE numeric(12,4)",
    "ALTER TABLE child ALTER COLUMN id TYPE int",
    "ALTER TABLE child ALTER COLUMN at TYPE timestamp(6)",
    "ALTER TABLE child ALTER COLUMN label TYPE varchar(40)",  # no rewrite, but its check scans
    "ALTER TABLE child ALTER COLUMN label TYPE text",
    "ALTER TABLE other ALTER COLUMN net TYPE inet",
    "ALTER TABLE other ALTER COLUMN tags TYPE varchar(20)[]",
    "ALTER TABLE child ALTER COLUMN code SET NOT NULL",
    "ALTER TABLE child ALTER COLUMN code DROP NOT NULL",
    "ALTER TABLE child ALTER COLUMN code SET DEFAULT 'x'",
    "ALTER TABLE child ALTER COLUMN code SET STATISTICS 200",
    "ALTER TABLE child ADD CONSTRAINT c_u UNIQUE (code)",
    "ALTER TABLE child ADD CONSTRAINT c_chk CHECK (id > 0)",
    "ALTER TABLE child ADD CONSTRAINT c_chk CHECK (id > 0) NOT VALID",
    "ALTER TABLE other ADD CONSTRAINT o_fk FOREIGN KEY (parent_id) REFERENCES parent (id)",
    "ALTER TABLE other ADD CONSTRAINT o_fk FOREIGN KEY (parent_id) REFERENCES parent NOT VALID",
    "ALTER TABLE child VALIDATE CONSTRAINT child_amount_check",
    "ALTER TABLE child DROP CONSTRAINT child_amount_check",
    "ALTER TABLE child SET TABLESPACE pg_default",
    "ALTER TABLE child SET (fillfactor = 70)",
    "ALTER TABLE child DISABLE TRIGGER ALL",
    "ALTER TABLE child RENAME COLUMN code TO c",
    "ALTER TABLE child RENAME TO kid",
    "ALTER INDEX child_code_idx RENAME TO x_idx",
    "ALTER TABLE part DETACH PARTITION part_2024",
    "CREATE INDEX i ON child (amount)",
    "CREATE UNIQUE INDEX i ON child (code)",
    "DROP INDEX child_code_idx",
    "DROP TABLE other",
    "DROP TABLE child",  # its foreign key's triggers on parent go too
    "REINDEX TABLE child",
    "REINDEX INDEX child_code_idx",
    "CLUSTER child USING child_code_idx",
    "TRUNCATE other",
    "UPDATE child SET code = 'y'",
    "DELETE FROM child",
    "INSERT INTO other (id) VALUES (7)",
    "LOCK TABLE parent IN SHARE MODE",
    "LOCK TABLE parent",
    "CREATE TABLE n (id bigint, p bigint REFERENCES parent (id))",
    "CREATE TABLE part_2025 PARTITION OF part FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
    "CREATE TRIGGER t BEFORE INSERT ON child FOR EACH ROW "
    "EXECUTE FUNCTION suppress_redundant_updates_trigger()",
    "COMMENT ON COLUMN child.code IS 'the code'",
    "ANALYZE child",
    "ALTER DOMAIN posint ADD CONSTRAINT pos CHECK (VALUE > 0)",
    "ALTER DOMAIN posint ADD CONSTRAINT pos CHECK (VALUE > 0) NOT VALID",
    "ALTER DOMAIN posint SET NOT NULL",
    "ALTER DOMAIN posint VALIDATE CONSTRAINT posint_nonzero",
    "ALTER DOMAIN posint DROP CONSTRAINT posint_nonzero",
    "CREATE DOMAIN d2 AS text CHECK (VALUE <> '')",
    "ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'",
    "ALTER TYPE mood ADD VALUE 'meh'",
    "ALTER SCHEMA s1 RENAME TO s2",
    "DROP SCHEMA s1",
]


class CatalogSchema:
    """The schema protocol of the lock map, answered from a live catalog."""

    def __init__(self, cur: Any) -> None:
        self.cur = cur

    def index_table(self, index: str) -> str | None:
        self.cur.execute("SELECT tablename FROM pg_indexes WHERE indexname = %s", (index,))
        row = self.cur.fetchone()
        return row[0] if row else None

    def column_type(self, table: str, column: str) -> Any:
        self.cur.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attname = %s",
            (table, column),
        )
        row = self.cur.fetchone()
        return normal_type(row[0]) if row else None

    @property
    def utc_session(self) -> bool:
        self.cur.execute("SHOW TimeZone")
        return utc_session({"timezone": self.cur.fetchone()[0]})

    def column_indexes(self, table: str, column: str) -> list[str]:
        self.cur.execute(
            "SELECT i.indexrelid::regclass::text FROM pg_index i JOIN pg_attribute a "
            "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
            "WHERE i.indrelid = %s::regclass AND a.attname = %s",
            (table, column),
        )
        return [row[0] for row in self.cur.fetchall()]

    def check_constraints(self, table: str, column: str) -> list[str]:
        self.cur.execute(
            "SELECT c.conname FROM pg_constraint c JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
            "WHERE c.contype = 'c' AND c.convalidated AND c.conrelid = %s::regclass "
            "AND a.attname = %s",
            (table, column),
        )
        return [row[0] for row in self.cur.fetchall()]

    def domain_tables(self, domain: str) -> list[str]:
        self.cur.execute(
            "SELECT DISTINCT a.attrelid::regclass::text FROM pg_attribute a "
            "JOIN pg_class r ON r.oid = a.attrelid AND r.relkind IN ('r', 'p') "
            "WHERE a.atttypid = %s::regtype AND NOT a.attisdropped",
            (domain,),
        )
        return [row[0] for row in self.cur.fetchall()]

    def referenced_tables(self, table: str) -> list[str]:
        self.cur.execute(
            "SELECT DISTINCT confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = %s::regclass",
            (table,),
        )
        return [row[0] for row in self.cur.fetchall()]

    def fk_target(self, table: str, column: str) -> str | None:
        self.cur.execute(
            "SELECT confrelid::regclass::text FROM pg_constraint c JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
            "WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND a.attname = %s",
            (table, column),
        )
        row = self.cur.fetchone()
        return row[0] if row else None


def _relations(cur: Any) -> dict[int, tuple[str, str, int]]:
    cur.execute(
        "SELECT oid, relname, relkind, relfilenode FROM pg_class "
        "WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'i')"
    )
    return {oid: (name, kind, node) for oid, name, kind, node in cur.fetchall()}


def _seq_scans(cur: Any) -> dict[str, int]:
    cur.execute("SELECT relname, seq_scan FROM pg_stat_xact_user_tables")
    return dict(cur.fetchall())


Observed = tuple[dict[str, Lock], set[str], set[str], dict[int, Any]]


def _observe_operation(conn: Any, state: ProjectState, op: Any) -> Observed:
    """:func:`_observe` of ``op`` run by Django's schema editor on ``state``, in a
    transaction rolled back afterwards."""

    def run() -> None:
        with conn.schema_editor(atomic=False) as editor:
            new = state.clone()
            op.state_forwards(APP, new)
            op.database_forwards(APP, editor, state, new)

    conn.set_autocommit(False)
    try:
        with conn.cursor() as cur:
            return _observe(cur.cursor, run)
    finally:
        conn.rollback()
        conn.set_autocommit(True)


def _observe(cur: Any, run: Any) -> Observed:
    """Run ``run()`` in the open transaction: strongest lock per relation, and the tables
    it rewrote (relfilenode changed) or read whole (``pg_stat_xact_user_tables.seq_scan``).
    """
    before = _relations(cur)
    scans = _seq_scans(cur)
    run()
    scanned = {name for name, n in _seq_scans(cur).items() if n > scans.get(name, 0)}
    cur.execute(
        "SELECT relation::int, mode FROM pg_locks WHERE pid = pg_backend_pid() "
        "AND locktype = 'relation'"
    )
    observed: dict[str, Lock] = {}
    for oid, mode in cur.fetchall():
        if oid in before:
            name, lock = before[oid][0], Lock.from_mode(mode)
            assert lock is not None
            if name not in observed or lock.strength > observed[name].strength:
                observed[name] = lock
    after = _relations(cur)
    rewritten = {
        before[oid][0]
        for oid in before
        if before[oid][1] != "i" and oid in after and after[oid][2] != before[oid][2]
    }
    return observed, rewritten, scanned, before


def _compare(
    claims: list[tuple[str, Lock, bool]],
    observed: dict[str, Lock],
    rewritten: set[str],
    scanned: set[str],
    before: dict[int, Any],
    exact: bool = False,
) -> None:
    """Claims equal the observed locks; a rewritten table is claimed slow.

    ``exact``: the claim is slow exactly when PostgreSQL rewrote or scanned the
    table (type changes, domain validation); elsewhere a scan of a table that is
    not claimed slow may be a small lookup (a foreign key's referenced table).
    """
    claimed = {name: lock for name, lock, _slow in claims}
    tables = {name for name, kind, _ in before.values() if kind != "i"}
    seen = {n: lock for n, lock in observed.items() if n in tables or n in claimed}
    assert claimed == seen
    slow = {name for name, _lock, is_slow in claims if is_slow}
    assert rewritten <= slow, f"rewritten {rewritten - slow} not claimed slow"
    if exact:
        assert slow == rewritten | scanned


def _server_helpers() -> tuple[dict[str, str], Any, Any]:
    """tests/conftest.py's helpers (pytest loaded it under a path-based name)."""
    import sys
    from pathlib import Path

    top = Path(__file__).resolve().parent.parent / "conftest.py"
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) and Path(module.__file__).resolve() == top:
            return module.PG, module.create_database, module.drop_database
    raise RuntimeError("tests/conftest.py is not loaded")


@pytest.fixture(scope="module")
def sql_db() -> Any:
    import uuid

    PG, create_database, drop_database = _server_helpers()

    name = f"schemaops_t_lockmap_{uuid.uuid4().hex[:8]}"
    create_database(name)
    conn = psycopg2.connect(**{**PG, "dbname": name})
    with conn.cursor() as cur:
        cur.execute(SQL_SETUP)
    conn.commit()
    try:
        yield conn
    finally:
        conn.close()
        drop_database(name)


@pytest.mark.parametrize("zone", ["UTC", "America/Chicago"])
@pytest.mark.parametrize(
    "sql",
    [
        "ALTER TABLE child ALTER COLUMN at TYPE timestamptz",  # no index on it
        "ALTER TABLE child ALTER COLUMN at TYPE timestamptz(3)",  # a precision: rewritten
        "ALTER TABLE other ALTER COLUMN seen TYPE timestamptz",  # other_seen_idx is rebuilt
    ],
)
def test_timestamp_to_timestamptz_follows_the_session_time_zone(
    sql_db: Any, zone: str, sql: str
) -> None:
    """In a UTC session PostgreSQL keeps the table (its indexes on the column are
    rebuilt, a scan); in another zone it converts every row."""
    node = parse(sql)[0].node
    with sql_db.cursor() as cur:
        try:
            cur.execute("SET LOCAL TIME ZONE %s", (zone,))
            claims = statement_locks(node, CatalogSchema(cur))
            observed, rewritten, scanned, before = _observe(cur, lambda: cur.execute(sql))
        finally:
            sql_db.rollback()
    assert bool(rewritten) is (zone != "UTC" or sql.endswith(")"))
    _compare(claims, observed, rewritten, scanned, before, exact=True)


@pytest.mark.parametrize("sql", STATEMENTS)
def test_statement_locks_match_pg_locks(sql_db: Any, sql: str) -> None:
    node = parse(sql)[0].node
    with sql_db.cursor() as cur:
        try:
            claims = statement_locks(node, CatalogSchema(cur))
            observed, rewritten, scanned, before = _observe(cur, lambda: cur.execute(sql))
        finally:
            sql_db.rollback()
    if sql.startswith("TRUNCATE"):
        rewritten = set()  # a new empty file, not a copy: fast, so not claimed slow
    exact = " TYPE " in sql or sql.startswith("ALTER DOMAIN")
    _compare(claims, observed, rewritten, scanned, before, exact=exact)


def _claims_of(sql: str, **kwargs: Any) -> list[tuple[str, Lock, bool]]:
    return statement_locks(parse(sql)[0].node, **kwargs)


def test_concurrent_forms_take_share_update_exclusive() -> None:
    assert _claims_of("CREATE INDEX CONCURRENTLY i ON t (a)") == [("t", SUE, True)]
    assert _claims_of("DROP INDEX CONCURRENTLY i") == [("i", SUE, False)]
    assert _claims_of("REINDEX TABLE CONCURRENTLY t") == [("t", SUE, True)]
    assert _claims_of("ALTER TABLE p DETACH PARTITION c CONCURRENTLY") == [
        ("p", SUE, False),
        ("c", SUE, False),
    ]
    assert _claims_of("VACUUM FULL t") == [("t", AE, True)]
    assert _claims_of("VACUUM t") == [("t", SUE, True)]


def test_add_column_default_rewrites_before_pg11_only() -> None:
    sql = "ALTER TABLE t ADD COLUMN c int DEFAULT 0"
    assert _claims_of(sql, pg_version=10) == [("t", AE, True)]
    assert _claims_of(sql, pg_version=15) == [("t", AE, False)]


def test_alter_type_without_schema_assumes_rewrite() -> None:
    assert _claims_of("ALTER TABLE t ALTER COLUMN c TYPE text") == [("t", AE, True)]


def test_statement_takes_the_strongest_action() -> None:
    sql = "ALTER TABLE t ALTER c SET STATISTICS 10, ADD CONSTRAINT f FOREIGN KEY (c) REFERENCES u"
    assert _claims_of(sql) == [("t", SRE, True), ("u", SRE, False)]
    sql = "ALTER TABLE t VALIDATE CONSTRAINT x, ALTER c SET NOT NULL"
    assert _claims_of(sql) == [("t", AE, True)]


@pytest.mark.parametrize(
    ("old", "new", "safe"),
    [
        ("varchar(10)", "varchar(20)", True),
        ("varchar(20)", "varchar(10)", False),
        ("varchar(10)", "text", True),
        ("character varying(10)", "character varying", True),
        ("text", "varchar", True),
        ("text", "varchar(10)", False),
        ("numeric(10,2)", "numeric(12,2)", True),
        ("numeric(10,2)", "numeric(12,3)", False),
        ("numeric(10,2)", "numeric", True),
        ("cidr", "inet", True),
        ("inet", "cidr", False),
        ("timestamp(3) with time zone", "timestamp with time zone", True),
        ("interval(2)", "interval(4)", True),
        ("integer", "bigint", False),
        ("varchar(10)[]", "text", False),
        ("varchar(10)[]", "varchar(20)[]", False),  # array elements: a rewrite
        ("varchar(10)[]", "text[]", False),
    ],
)
def test_safe_cast_matrix(old: str, new: str, safe: bool) -> None:
    old_type, new_type = normal_type(old), normal_type(new)
    assert old_type is not None and new_type is not None
    assert binary_coercible(old_type, new_type) is safe


# -- Django operations ------------------------------------------------------------------


def _setup() -> list[Any]:
    return [
        customer_model(),
        order_model(
            ("customer", models.ForeignKey("shop.customer", models.CASCADE, null=True)),
            ("tags", models.ManyToManyField("shop.customer", related_name="tagged")),
            ("ref", models.CharField(max_length=10, null=True, db_index=True)),
            ("label", models.CharField(max_length=10, null=True)),
        ),
        migrations.AddIndex("order", models.Index(fields=["amount"], name="order_amount_idx")),
        migrations.AddConstraint(
            "order", models.CheckConstraint(condition=models.Q(amount__gte=0), name="amount_pos")
        ),
        migrations.AddConstraint(
            "order", models.CheckConstraint(condition=~models.Q(label=""), name="label_not_blank")
        ),
    ]


def _fk(null: bool = True, **kwargs: Any) -> Any:
    return models.ForeignKey("shop.customer", models.CASCADE, null=null, **kwargs)


OPERATIONS = [
    migrations.AddField("order", "note", models.TextField(null=True)),
    migrations.AddField("order", "n", models.IntegerField(default=3)),
    migrations.AddField("order", "n", models.IntegerField(db_default=3)),
    migrations.AddField("order", "r", models.FloatField(db_default=models.functions.Random())),
    migrations.AddField("order", "key", models.CharField(max_length=10, null=True, unique=True)),
    migrations.AddField("order", "slug", models.CharField(max_length=9, null=True, db_index=True)),
    migrations.AddField("order", "buyer", _fk()),
    migrations.AddField("order", "buyer", _fk(db_constraint=False)),
    migrations.AddField("order", "pos", models.PositiveIntegerField(default=1)),
    migrations.AddField("order", "more", models.ManyToManyField("shop.customer")),
    migrations.RemoveField("order", "legacy"),
    migrations.RemoveField("order", "customer"),
    migrations.RemoveField("order", "tags"),
    migrations.RemoveField("order", "ref"),
    migrations.AlterField("order", "code", models.CharField(max_length=40)),
    migrations.AlterField("order", "code", models.TextField()),
    migrations.AlterField("order", "label", models.CharField(max_length=30, null=True)),
    migrations.AlterField("order", "code", models.CharField(max_length=5)),
    migrations.AlterField("order", "amount", models.BigIntegerField(default=0)),
    migrations.AlterField("order", "legacy", models.CharField(max_length=20, default="x")),
    migrations.AlterField("order", "legacy", models.CharField(max_length=20)),
    migrations.AlterField("order", "code", models.CharField(max_length=20, null=True)),
    migrations.AlterField("order", "code", models.CharField(max_length=20, unique=True)),
    migrations.AlterField("order", "code", models.CharField(max_length=20, db_index=True)),
    migrations.AlterField("order", "ref", models.CharField(max_length=10, null=True)),
    migrations.AlterField("order", "customer", _fk(null=False, default=1)),
    migrations.AlterField("order", "customer", _fk(db_constraint=False)),
    migrations.AlterField("order", "code", models.CharField(max_length=20, help_text="x")),
    migrations.AlterField("order", "code", models.CharField(max_length=20, db_comment="c")),
    migrations.RenameField("order", "legacy", "old"),
    migrations.AddIndex("order", models.Index(fields=["code"], name="order_code_idx")),
    migrations.RemoveIndex("order", "order_amount_idx"),
    migrations.RenameIndex("order", new_name="order_amt_idx", old_name="order_amount_idx"),
    migrations.AddConstraint("order", models.UniqueConstraint(fields=["code"], name="uq_code")),
    migrations.AddConstraint(
        "order",
        models.UniqueConstraint(
            fields=["code"], condition=models.Q(amount__gt=0), name="uq_code_pos"
        ),
    ),
    migrations.AddConstraint(
        "order", models.CheckConstraint(condition=models.Q(amount__lt=10**6), name="amt_max")
    ),
    migrations.RemoveConstraint("order", "amount_pos"),
    migrations.AlterUniqueTogether("order", {("code", "amount")}),
    migrations.DeleteModel("order"),
    migrations.RenameModel("order", "purchase"),
    migrations.AlterModelTable("order", "orders"),
    migrations.AlterModelTableComment("order", "orders placed"),
    migrations.AlterModelOptions("order", {"ordering": ["code"]}),
    migrations.CreateModel("Line", [("id", models.BigAutoField(primary_key=True)), ("c", _fk())]),
    migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN z int; CREATE INDEX zi ON shop_order (z)"),
]


class _Capture(Rule):
    code, name, summary = "SO000", "capture", "test helper"
    operations = (Operation,)

    def __init__(self) -> None:
        self.claims: list[Any] = []

    def check_operation(self, ctx: Any) -> tuple[()]:
        if ctx.step.parent is None:
            self.claims.append(operation_locks(ctx))
        return ()


def claims_for(op: Any, setup: list[Any], pg_version: int = 15) -> list[tuple[str, Lock, bool]]:
    capture = _Capture()
    first = make_migration("0001_initial", setup)
    second = make_migration("0002_change", [op], dependencies=[(APP, "0001_initial")])
    linter = Linter(FakeLoader([first, second]), Config(), pg_version=pg_version, rules=[capture])
    linter.run({(APP, "0002_change")})
    return capture.claims[0]


@pytest.fixture(scope="module")
def django_db() -> Any:
    import uuid

    PG, create_database, drop_database = _server_helpers()
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    from schemaops.plan import offline_connection

    name = f"schemaops_t_lockops_{uuid.uuid4().hex[:8]}"
    create_database(name)
    settings = dict(offline_connection(150000).settings_dict)
    settings.update(NAME=name, HOST=PG["host"], PORT=PG["port"], USER=PG["user"])
    conn = DatabaseWrapper(settings, alias="lockmap_test")
    connections["lockmap_test"] = conn  # schema_editor() looks its alias up
    state = ProjectState()
    with conn.schema_editor() as editor:
        for op in _setup():
            new = state.clone()
            op.state_forwards(APP, new)
            op.database_forwards(APP, editor, state, new)
            state = new
    with conn.cursor() as cur:
        cur.execute("INSERT INTO shop_customer VALUES (1, 'a@example.com')")
        cur.execute("INSERT INTO shop_order (id, code, amount, legacy) VALUES (1, 'x', 1, 'l')")
    try:
        yield conn, state
    finally:
        conn.close()
        del connections["lockmap_test"]
        drop_database(name)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.describe()[:60])
def test_operation_locks_match_pg_locks(django_db: Any, op: Any) -> None:
    conn, state = django_db
    claims = claims_for(op, _setup())

    observed, rewritten, scanned, before = _observe_operation(conn, state, op)
    type_only = isinstance(op, migrations.AlterField) and op.name in ("code", "amount", "label")
    _compare(
        claims,
        observed,
        rewritten,
        scanned,
        before,
        exact=type_only and not (op.field.db_index or op.field.unique),
    )


def test_concurrent_index_operations() -> None:
    index = models.Index(fields=["code"], name="order_code_idx")
    assert claims_for(AddIndexConcurrently("order", index), _setup()) == [("shop_order", SUE, True)]
    assert claims_for(RemoveIndexConcurrently("order", "order_amount_idx"), _setup()) == [
        ("shop_order", SUE, False)
    ]


def test_add_field_default_rewrites_only_before_pg11() -> None:
    op = migrations.AddField("order", "n", models.IntegerField(default=3))
    assert claims_for(op, _setup(), pg_version=10) == [("shop_order", AE, True)]
    assert claims_for(op, _setup(), pg_version=15) == [("shop_order", AE, False)]


def test_steps_keep_statement_order() -> None:
    op = migrations.AlterField("order", "legacy", models.CharField(max_length=20, default="x"))
    actions = []

    class Steps(_Capture):
        def check_operation(self, ctx: Any) -> tuple[()]:
            actions.extend((s.lock, s.slow) for s in operation_steps(ctx))
            return ()

    first = make_migration("0001_initial", _setup())
    second = make_migration("0002_change", [op], dependencies=[(APP, "0001_initial")])
    Linter(FakeLoader([first, second]), Config(), rules=[Steps()]).run({(APP, "0002_change")})
    assert actions == [(AE, False), (RX, True), (AE, True), (AE, False)]  # Django's four-way
    assert merge([]) == []


def test_a_key_type_change_checks_the_foreign_keys_pointing_at_it_again(scratch_db: Any) -> None:
    """Widening a varchar primary key rewrites nothing, but Django drops the foreign keys
    pointing at it and adds them back validated: a full read of the referencing table."""
    from django.db import connections
    from django.db.backends.postgresql.base import DatabaseWrapper

    from schemaops.plan import offline_connection

    setup = [
        migrations.CreateModel(
            "Sku", [("code", models.CharField(max_length=10, primary_key=True))]
        ),
        migrations.CreateModel(
            "Line",
            [
                ("id", models.BigAutoField(primary_key=True)),
                ("sku", models.ForeignKey("shop.sku", models.CASCADE)),
            ],
        ),
    ]
    op = migrations.AlterField("sku", "code", models.CharField(max_length=20, primary_key=True))
    claims = claims_for(op, setup)
    assert ("shop_line", AE, True) in claims
    settings = dict(offline_connection(150000).settings_dict)
    settings.update(NAME=scratch_db["dbname"], HOST=scratch_db["host"], USER=scratch_db["user"])
    settings["PORT"] = scratch_db.get("port", 5432)
    conn = DatabaseWrapper(settings, alias="keys_test")
    connections["keys_test"] = conn
    try:
        state = ProjectState()
        with conn.schema_editor() as editor:
            for setup_op in setup:
                new = state.clone()
                setup_op.state_forwards(APP, new)
                setup_op.database_forwards(APP, editor, state, new)
                state = new
        with conn.cursor() as cur:
            cur.execute("INSERT INTO shop_sku VALUES ('a'); INSERT INTO shop_line VALUES (1, 'a')")
        observed, rewritten, scanned, before = _observe_operation(conn, state, op)
    finally:
        conn.close()
        del connections["keys_test"]
    assert "shop_line" in scanned and not rewritten
    _compare(claims, observed, rewritten, scanned, before)
