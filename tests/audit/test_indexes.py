"""AU101-AU108 on real schemas: each problem planted next to a clean twin."""

from __future__ import annotations

import psycopg2

from schemaops.findings import Severity

ROWS = "INSERT INTO {t} (v) SELECT g FROM generate_series(1, 100000) g"


def test_fk_without_index_fires_only_for_the_unindexed_key(db):
    db.sql(
        "CREATE TABLE parent (id int PRIMARY KEY, a int, b int, UNIQUE (a, b))",
        "CREATE TABLE bare (id int PRIMARY KEY, parent_id int REFERENCES parent)",
        "CREATE TABLE indexed (id int PRIMARY KEY, parent_id int REFERENCES parent)",
        "CREATE INDEX ON indexed (parent_id)",
        # a two-column key covered by an index listing its columns in the other order
        "CREATE TABLE pair (id int PRIMARY KEY, a int, b int, FOREIGN KEY (a, b) "
        "REFERENCES parent (a, b))",
        "CREATE INDEX ON pair (b, a, id)",
        # an index that starts with another column does not help the key
        "CREATE TABLE late (id int PRIMARY KEY, x int, parent_id int REFERENCES parent)",
        "CREATE INDEX ON late (x, parent_id)",
    )
    findings = db.audit("AU101")
    tables = {f.obj.split(".")[0] for f in findings}
    assert tables == {"bare", "late"}
    bare = next(f for f in findings if f.obj.startswith("bare."))
    assert bare.evidence["columns"] == ["parent_id"]
    assert "CREATE INDEX CONCURRENTLY" in bare.recipe and "parent_id" in bare.recipe


def test_fk_without_index_same_finding_from_the_snapshot_or_the_catalog(db):
    """AU101 names a key's tables from the index snapshot; a table without any index, or a
    referenced table outside the audited schemas, is read from the catalog instead: the
    findings carry the same figures either way."""
    from schemaops.audit.runner import run_audit, select

    db.sql(
        "CREATE SCHEMA app",
        "CREATE SCHEMA other",
        "CREATE TABLE other.ref (id int PRIMARY KEY)",
        "CREATE TABLE app.parent (id int PRIMARY KEY)",
        "INSERT INTO app.parent SELECT generate_series(1, 200)",
        "CREATE TABLE app.child (id int PRIMARY KEY, parent_id int REFERENCES app.parent)",
        "INSERT INTO app.child SELECT g, g % 100 + 1 FROM generate_series(1, 1000) g",
        "CREATE TABLE app.heap (parent_id int REFERENCES app.parent)",  # no index at all
        "INSERT INTO app.heap SELECT g FROM generate_series(1, 100) g",
        "CREATE TABLE app.outward (id int PRIMARY KEY, ref_id int REFERENCES other.ref)",
        "VACUUM ANALYZE app.child, app.heap, app.parent",
        "DELETE FROM app.child WHERE id > 990",
        "DELETE FROM app.parent WHERE id > 199",
        "SELECT count(*) FROM app.child",
    )
    result = run_audit(db.params, select(["AU101"]), schemas=["app"])
    found = {f.obj: f for f in result.findings}
    assert set(found) == {
        "app.child.child_parent_id_fkey",
        "app.heap.heap_parent_id_fkey",
        "app.outward.outward_ref_id_fkey",
    }
    child, heap, outward = (found[k] for k in sorted(found))
    conn = psycopg2.connect(**db.params)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT relname, reltuples::bigint, relpages::bigint * 8192,"
                " pg_stat_get_numscans(oid),"
                " pg_stat_get_tuples_updated(oid) + pg_stat_get_tuples_deleted(oid)"
                " FROM pg_class WHERE relname IN ('child', 'heap', 'parent')"
            )
            stats = {r[0]: r[1:] for r in cur.fetchall()}
    finally:
        conn.close()
    for finding, table in ((child, "child"), (heap, "heap")):
        rows, size, scans, _ = stats[table]
        assert finding.evidence["columns"] == ["parent_id"]
        assert finding.evidence["table_rows"] == rows > 0
        assert finding.evidence["table_bytes"] == size > 0
        assert finding.evidence["table_seq_scans"] == scans
        assert finding.evidence["referenced_table_updates_deletes"] == stats["parent"][3] == 1
        assert "-> app.parent)" in finding.message and finding.schema == "app"
    assert "-> other.ref)" in outward.message
    assert "CREATE INDEX CONCURRENTLY" in heap.recipe and "parent_id" in heap.recipe


def test_seq_scan_heavy_table(db):
    db.sql(
        "CREATE TABLE scanned (id int PRIMARY KEY, v int)",
        "INSERT INTO scanned SELECT g, g % 1000 FROM generate_series(1, 100000) g",
        "CREATE TABLE looked_up (id int PRIMARY KEY, v int)",
        "INSERT INTO looked_up SELECT g, g % 1000 FROM generate_series(1, 100000) g",
        *["SELECT count(*) FROM scanned WHERE v = 7"] * 12,
        *["SELECT v FROM looked_up WHERE id = 7"] * 12,
    )
    findings = db.audit("AU102")
    assert [f.obj for f in findings] == ["scanned"]
    assert findings[0].evidence["seq_scan"] >= 12
    assert findings[0].evidence["rows"] == 100000


def test_seq_scan_heavy_table_figures_equal_pg_stat_user_tables(db):
    """AU102 sums index scans only for the tables past its thresholds: the figures
    must still be the ones pg_stat_user_tables shows (several indexes, another schema)."""
    db.sql(
        "CREATE SCHEMA tenant",
        "CREATE TABLE tenant.mixed (id int PRIMARY KEY, v int, w int)",
        "INSERT INTO tenant.mixed SELECT g, g % 1000, g FROM generate_series(1, 50000) g",
        "CREATE INDEX ON tenant.mixed (w)",
        "ANALYZE tenant.mixed",
        *["SELECT count(*) FROM tenant.mixed WHERE v = 7"] * 15,
        "SET enable_seqscan = off",
        *["SELECT v FROM tenant.mixed WHERE id = 7"] * 2,
        *["SELECT v FROM tenant.mixed WHERE w = 7"] * 3,
        # past the scan threshold but too small: not a candidate
        "RESET enable_seqscan",
        "CREATE TABLE tenant.small (id int PRIMARY KEY, v int)",
        "INSERT INTO tenant.small SELECT g, g FROM generate_series(1, 500) g",
        *["SELECT count(*) FROM tenant.small WHERE v = 7"] * 15,
    )
    (finding,) = db.audit("AU102")
    assert finding.obj == "tenant.mixed" and finding.schema == "tenant"
    conn = psycopg2.connect(**db.params)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT seq_scan, seq_tup_read, idx_scan, n_live_tup FROM pg_stat_user_tables"
                " WHERE schemaname = 'tenant' AND relname = 'mixed'"
            )
            seq_scan, seq_tup_read, idx_scan, rows = cur.fetchone()
    finally:
        conn.close()
    assert idx_scan == 5
    assert finding.evidence["idx_scan"] == idx_scan
    assert finding.evidence["seq_scan"] == seq_scan
    assert finding.evidence["seq_tup_read"] == seq_tup_read
    assert finding.evidence["rows"] == rows >= 10000
    assert finding.evidence["index_scan_pct"] == round(100 * idx_scan / (idx_scan + seq_scan), 1)
    assert finding.evidence["bytes"] > 0


def _two_indexes(db, used: bool) -> None:
    db.sql(
        "CREATE TABLE t (id serial PRIMARY KEY, v int)",
        ROWS.format(t="t"),
        "CREATE INDEX t_v_idx ON t (v)",
        "CREATE INDEX t_small_idx ON t (id) WHERE v < 0",  # tiny: below 1 MB
    )
    if used:
        db.sql("SET enable_seqscan = off", "SELECT * FROM t WHERE v = 5")


def test_unused_index_fires_with_stats_reset_time(db):
    _two_indexes(db, used=False)
    findings = db.audit("AU104")
    assert [f.obj for f in findings] == ["t_v_idx"]
    assert findings[0].evidence["bytes"] >= 1 << 20
    assert "stats_reset" in findings[0].evidence
    assert "DROP INDEX CONCURRENTLY" in findings[0].recipe


def test_unused_index_silent_once_scanned(db):
    _two_indexes(db, used=True)
    assert db.audit("AU104") == []


def test_unused_index_serving_a_foreign_key_is_only_info(db):
    db.sql(
        "CREATE TABLE p (id int PRIMARY KEY)",
        "INSERT INTO p SELECT generate_series(1, 100000)",
        "CREATE TABLE c (id serial PRIMARY KEY, p_id int REFERENCES p)",
        "INSERT INTO c (p_id) SELECT generate_series(1, 100000)",
        "CREATE INDEX c_p_idx ON c (p_id)",
    )
    (finding,) = db.audit("AU104")
    assert finding.severity is Severity.INFO
    assert finding.evidence["serves_foreign_key"]


def test_duplicate_index(db):
    db.sql(
        "CREATE TABLE t (id int PRIMARY KEY, v int, w int)",
        "CREATE INDEX a_v ON t (v)",
        "CREATE INDEX b_v ON t (v)",
        "CREATE INDEX w_asc ON t (w)",
        "CREATE INDEX w_desc ON t (w DESC)",  # different order: not a duplicate
    )
    findings = db.audit("AU105")
    assert [(f.obj, f.evidence["covered_by"]) for f in findings] == [("b_v", "a_v")]


def test_redundant_prefix_and_unique_copies(db):
    db.sql(
        "CREATE TABLE t (id int PRIMARY KEY, a int, b int, c int)",
        "CREATE INDEX t_a ON t (a)",  # prefix of t_a_b
        "CREATE INDEX t_a_b ON t (a, b)",
        "CREATE INDEX t_b_part ON t (b) WHERE c > 0",  # partial: not covered by t_b_c
        "CREATE INDEX t_b_c ON t (b, c)",
        "CREATE INDEX t_c ON t (c)",  # same columns as a unique index
        "CREATE UNIQUE INDEX t_c_uniq ON t (c)",
        "CREATE UNIQUE INDEX t_a_uniq ON t (a, c)",  # unique: never flagged
    )
    found = {f.obj: f.evidence["covered_by"] for f in db.audit("AU106")}
    assert found == {"t_a": "t_a_b", "t_c": "t_c_uniq"}


def test_redundant_like_index_only_under_c_collation(db):
    db.sql(
        'CREATE TABLE c_coll (id int PRIMARY KEY, code varchar(20) COLLATE "C")',
        "CREATE INDEX c_coll_code ON c_coll (code)",
        "CREATE INDEX c_coll_code_like ON c_coll (code varchar_pattern_ops)",
        'CREATE TABLE other (id int PRIMARY KEY, code varchar(20) COLLATE "C.utf8")',
        "CREATE INDEX other_code ON other (code)",
        "CREATE INDEX other_code_like ON other (code varchar_pattern_ops)",
    )
    findings = db.audit("AU107")
    assert [f.obj for f in findings] == ["c_coll_code_like"]
    assert findings[0].evidence["collation"] == "C"


def test_invalid_index_from_failed_concurrent_build(db):
    db.sql(
        "CREATE TABLE t (id int PRIMARY KEY, v int)",
        "INSERT INTO t SELECT g, g % 3 FROM generate_series(1, 100) g",
        "CREATE INDEX t_ok ON t (v)",
    )
    db.fails("CREATE UNIQUE INDEX CONCURRENTLY t_v_uniq ON t (v)")
    findings = db.audit("AU108")
    assert [f.obj for f in findings] == ["t_v_uniq"]
    assert findings[0].severity is Severity.ERROR
    assert "REINDEX INDEX CONCURRENTLY" in findings[0].recipe
