"""AU401-AU403: settings still at their defaults, autovacuum behind, XID age."""

from __future__ import annotations

import psycopg2
import psycopg2.extras

from schemaops.audit.settings import SETTINGS, at_default
from schemaops.findings import Severity
from schemaops.tune.formulas import propose
from schemaops.tune.inputs import MachineProfile


def _settings(params, names):
    with (
        psycopg2.connect(**params) as conn,
        conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur,
    ):
        cur.execute(SETTINGS, {"names": names})
        rows = {r["name"]: dict(r) for r in cur.fetchall()}
    conn.close()
    return rows


def test_settings_at_default_fire_unless_set_elsewhere(db):
    proposals = propose(MachineProfile(ram_kb=16 * 1024 * 1024, cpus=4, pg_version=15))
    # A value set for this database no longer comes from the built-in default.
    dbname = db.params["dbname"]
    db.sql(f'ALTER DATABASE "{dbname}" SET random_page_cost = 1.1')
    rows = _settings(db.params, list(proposals))
    assert rows["random_page_cost"]["source"] == "database"
    flagged = {hit.obj: hit for hit in at_default(proposals, rows)}
    assert "random_page_cost" not in flagged
    # The shared test server runs with PostgreSQL's defaults for these.
    assert rows["work_mem"]["source"] == "default"
    assert flagged["work_mem"].evidence["proposed"] == proposals["work_mem"].setting
    assert "ALTER SYSTEM SET work_mem" in flagged["work_mem"].fix


def test_settings_at_default_through_the_runner_with_given_memory(db):
    from schemaops.audit.runner import run_audit, select

    result = run_audit(db.params, select(["AU401"]), machine={"ram_kb": 8 * 1024 * 1024})
    names = {f.obj for f in result.findings}
    assert "work_mem" in names or "effective_cache_size" in names
    assert all(f.code == "AU401" for f in result.findings)


def test_settings_at_default_sizes_this_database_from_its_catalog(db):
    """AU401 needs only the size bucket: this database's size comes from pg_class.relpages
    (no stat() of every file) and stays close to what pg_database_size() measures."""
    from schemaops.tune.detect import server_inputs
    from schemaops.tune.inputs import db_size_bucket

    db.sql(
        "CREATE TABLE big (id int PRIMARY KEY, pad text)",
        "INSERT INTO big SELECT g, repeat('x', 200) FROM generate_series(1, 50000) g",
        "VACUUM ANALYZE big",
    )
    conn = psycopg2.connect(**db.params)
    try:
        estimated = server_inputs(conn, db.params, estimate_this_database=True)
        exact = server_inputs(conn, db.params)
    finally:
        conn.close()
    assert "pg_class.relpages" in estimated["db_bytes"][1]
    assert "pg_class" not in exact["db_bytes"][1]
    est, real = estimated["db_bytes"][0], exact["db_bytes"][0]
    assert 0.8 * real <= est <= 1.05 * real, (est, real)
    # the bucket, the only thing made of it, is the same for RAM sizes around the data
    for ram_kb in (real // 1024 // 4, real // 1024 // 2, real // 1024 * 2):  # > 3x, 2x, 0.5x
        assert db_size_bucket(est, ram_kb) == db_size_bucket(real, ram_kb)


def test_autovacuum_behind_when_disabled_and_silent_after_vacuum(db):
    db.sql(
        "CREATE TABLE stale (id int PRIMARY KEY) WITH (autovacuum_enabled = off)",
        "INSERT INTO stale SELECT generate_series(1, 20000)",
        "DELETE FROM stale WHERE id % 2 = 0",
        "CREATE TABLE tidy (id int PRIMARY KEY) WITH (autovacuum_enabled = off)",
        "INSERT INTO tidy SELECT generate_series(1, 20000)",
        "DELETE FROM tidy WHERE id % 2 = 0",
    )
    db.sql("VACUUM tidy")
    # the shared server may run with autovacuum = off: that is one finding of its own
    (finding,) = [f for f in db.audit("AU402") if f.obj != "autovacuum"]
    assert finding.obj == "stale"
    assert finding.evidence["n_dead_tup"] == 10000
    assert finding.evidence["autovacuum_enabled"] is False
    assert "RESET (autovacuum_enabled)" in finding.recipe


def test_xid_wraparound_thresholds(db):
    db.sql("CREATE TABLE t (id int)", "INSERT INTO t VALUES (1)")
    assert db.audit("AU403") == []  # a fresh database is nowhere near 50%
    findings = db.audit("AU403", xid_warn_pct=0.0, xid_error_pct=100.0)
    kinds = {f.obj for f in findings}
    assert db.params["dbname"] in kinds and "t" in kinds
    assert all(f.severity is Severity.WARNING for f in findings)
    assert all(f.evidence["xid_age"] >= 0 for f in findings)


def test_xid_age_of_a_table_counts_its_toast_table_once(db):
    """AU403 finds old TOAST tables in the same pg_class scan and traces them to their
    table: each table's age is the greater of its own and its TOAST table's, as PgHero's
    join computes it, and a table appears once."""
    from schemaops.audit.settings import XID_AGE

    db.sql(
        "CREATE TABLE doc (id int PRIMARY KEY, body text)",  # has a TOAST table
        "CREATE TABLE plain (id int PRIMARY KEY)",  # has none
        "INSERT INTO doc VALUES (1, 'x')",
        "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one",
        *["SELECT txid_current()"] * 5,  # the TOAST table grows older ...
        "VACUUM (FREEZE, PROCESS_TOAST false) doc",  # ... than its table
    )
    conn = psycopg2.connect(**db.params)
    try:  # one transaction: age() counts from the same transaction id in both queries
        with conn.cursor() as cur:
            cur.execute("SELECT oid FROM pg_namespace WHERE nspname = 'public'")
            schemas = [cur.fetchone()[0]]
            cur.execute(XID_AGE, {"schemas": schemas, "min_age": 0})
            ours = {name: age for kind, _, name, age in cur.fetchall() if kind == "table"}
            cur.execute(
                "SELECT c.relname, greatest(age(c.relfrozenxid), age(t.relfrozenxid))"
                " FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid"
                " WHERE c.relkind IN ('r', 'm') AND c.relnamespace = 'public'::regnamespace"
            )
            theirs = dict(cur.fetchall())
            cur.execute(
                "SELECT age(c.relfrozenxid), age(t.relfrozenxid) FROM pg_class c"
                " JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.relname = 'doc'"
            )
            own, toast = cur.fetchone()
    finally:
        conn.close()
    assert ours == theirs and {"doc", "plain", "mv"} <= set(ours)
    assert toast > own  # the TOAST table decides the table's age
    assert ours["doc"] == toast
    findings = db.audit("AU403", xid_warn_pct=0.0, xid_error_pct=100.0)
    objs = [f.obj for f in findings]
    assert sorted(objs) == sorted(set(objs)) and "doc" in objs


def test_server_wide_autovacuum_off_is_one_finding_about_the_setting():
    from pg_clusters import throwaway_cluster

    from schemaops.audit.runner import run_audit, select

    with throwaway_cluster(settings={"autovacuum": "off"}) as cluster:
        cluster.sql("CREATE TABLE a (id int)")
        cluster.sql("CREATE TABLE b (id int)")
        for table in ("a", "b"):
            cluster.sql(f"INSERT INTO {table} SELECT generate_series(1, 20000)")
            cluster.sql(f"DELETE FROM {table} WHERE id % 2 = 0")
        cluster.sql("SELECT pg_stat_force_next_flush()")
        result = run_audit(cluster.params(), select(["AU402"]))
    assert not result.failed, result.failed
    (finding,) = result.findings
    assert finding.obj == "autovacuum"
    assert finding.message.startswith("autovacuum is off for the whole server")
    assert sorted(finding.evidence["tables_behind"]) == ["a", "b"]
    assert "ALTER SYSTEM SET autovacuum = on;" in finding.recipe
    assert "RESET (autovacuum_enabled)" not in finding.recipe


def test_checks_skipped_for_one_reason_are_one_line(db):
    from support import run_cli

    dsn = "postgresql://{user}@{host}:{port}/{dbname}".format(**db.params)
    proc = run_cli("audit", "--dsn", dsn, cwd="/tmp")
    skipped = [line for line in proc.stderr.splitlines() if "skipped" in line]
    models = [line for line in skipped if "needs the Django models" in line]
    assert len(models) == 1, skipped
    assert models[0].startswith("schemaops: note: ") and " checks skipped (AU" in models[0]
