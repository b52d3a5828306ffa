"""``schemaops stats`` on real databases: the snapshot, its schema, read-only-ness."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import jsonschema
import pg_clusters
import psycopg2
from psycopg2 import sql
from support import ROOT, run_cli

SCHEMA = json.loads((ROOT / "schemaops/stats/stats.schema.json").read_text("utf-8"))


def dsn(params: dict[str, str], user: str | None = None, password: str = "") -> str:
    who = user or params["user"]
    secret = f":{password}" if password else ""
    return f"postgresql://{who}{secret}@{params['host']}:{params['port']}/{params['dbname']}"


def execute(params: dict[str, str], *statements: str) -> None:
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


SEED = (
    "CREATE TABLE shop_item (id bigint PRIMARY KEY, sku text, price int)",
    "CREATE INDEX shop_item_sku ON shop_item (sku)",
    "INSERT INTO shop_item SELECT g, 'sku-' || g, g FROM generate_series(1, 20000) g",
    "UPDATE shop_item SET price = price + 1 WHERE id <= 500",
    "ANALYZE shop_item",
)


def take(target: str, out: Path) -> dict:
    run = run_cli("stats", "--dsn", target, "-o", str(out), cwd=ROOT)
    assert run.returncode == 0, run.stderr
    return json.loads(out.read_text("utf-8"))


def test_snapshot_follows_its_schema_and_holds_no_secret(scratch_db, tmp_path):
    execute(scratch_db, *SEED)
    snapshot = take(dsn(scratch_db, password="s3cret-pw"), tmp_path / "stats.json")
    jsonschema.Draft202012Validator(SCHEMA).validate(snapshot)
    assert "s3cret" not in json.dumps(snapshot)
    assert snapshot["database"] == scratch_db["dbname"]
    assert snapshot["settings"]["maintenance_work_mem"]["unit"] == "kB"
    (item,) = [t for t in snapshot["tables"] if t["name"] == "shop_item"]
    assert item["rows"] == 20000 and item["rows_source"] == "reltuples"
    assert item["heap_bytes"] > 20000 * 30 and item["indexes_bytes"] > 0
    assert item["inserts_per_s"] > 0 and item["updates_per_s"] > 0
    assert item["last_analyze"] is not None
    assert {i["name"] for i in item["indexes"]} == {"shop_item_pkey", "shop_item_sku"}
    pkey = next(i for i in item["indexes"] if i["primary"])
    assert pkey["unique"] and pkey["method"] == "btree" and pkey["bytes"] > 0


def test_stats_to_stdout_and_bad_input(scratch_db):
    execute(scratch_db, *SEED[:1])
    run = run_cli("stats", "--dsn", dsn(scratch_db), cwd=ROOT)
    assert run.returncode == 0 and json.loads(run.stdout)["format"] == "schemaops-stats"
    bad = run_cli("stats", "--dsn", dsn(scratch_db), "--timeout", "soon", cwd=ROOT)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "invalid --timeout 'soon'" in bad.stderr
    down = dict(scratch_db, port=str(pg_clusters.free_port()))
    gone = run_cli("stats", "--dsn", dsn(down, password="hunter2"), cwd=ROOT)
    assert gone.returncode == 2 and "cannot connect" in gone.stderr
    assert "hunter2" not in gone.stderr and "Traceback" not in gone.stderr


def test_a_role_with_only_pg_read_all_stats_takes_the_snapshot(scratch_db, tmp_path):
    execute(scratch_db, *SEED)
    role = f"so_stats_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(**{**scratch_db, "dbname": "postgres"})
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        cur.execute(sql.SQL("GRANT pg_read_all_stats TO {}").format(sql.Identifier(role)))
    try:
        snapshot = take(dsn(scratch_db, user=role), tmp_path / "stats.json")
        conn = psycopg2.connect(**{**scratch_db, "user": role})
        try:
            with conn.cursor() as cur:  # the role cannot read the rows themselves
                try:
                    cur.execute("SELECT count(*) FROM shop_item")
                    raise AssertionError("the stats role could read table data")
                except psycopg2.errors.InsufficientPrivilege:
                    pass
        finally:
            conn.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        admin.close()
    (item,) = [t for t in snapshot["tables"] if t["name"] == "shop_item"]
    assert item["rows"] == 20000 and item["heap_bytes"] > 0 and item["seq_scan"] is not None
    assert len(item["indexes"]) == 2


COUNTERS = (
    "SELECT pg_current_wal_insert_lsn()::text, d.tup_inserted, d.tup_updated, d.tup_deleted,"
    " s.n_tup_ins, s.n_tup_upd, s.n_tup_del, s.n_tup_hot_upd"
    " FROM pg_stat_database d, pg_stat_user_tables s"
    " WHERE d.datname = current_database() AND s.relname = 'shop_item'"
)


def settled(cluster: pg_clusters.Cluster, dbname: str) -> tuple:
    """The WAL position and tuple counters, once two reads a moment apart agree."""
    last = None
    for _ in range(40):
        now = cluster.sql(COUNTERS, dbname=dbname)[0]
        if now == last:
            return now
        last = now
        time.sleep(0.25)
    raise AssertionError(f"the counters never settled: {last}")


def test_stats_moves_no_tuple_counter_and_no_wal(tmp_path):
    quiet = {"autovacuum": "off", "wal_level": "minimal", "max_wal_senders": "0"}
    with pg_clusters.throwaway_cluster(settings=quiet) as cluster:
        cluster.sql("CREATE DATABASE shop")
        params = cluster.params(dbname="shop")
        execute(params, *SEED, "CHECKPOINT")
        before = settled(cluster, "shop")
        snapshot = take(dsn(params), tmp_path / "stats.json")
        after = settled(cluster, "shop")
    assert any(t["name"] == "shop_item" for t in snapshot["tables"])
    assert after == before
