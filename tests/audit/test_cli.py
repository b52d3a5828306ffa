"""``schemaops audit`` end to end: targets, formats, exit codes, read-only, timeouts."""

from __future__ import annotations

import json
import time

import psycopg2
import pytest
from support import run_cli  # type: ignore[import-not-found]

from schemaops.audit.runner import open_readonly


def _dsn(params, password=None):
    auth = f"{params['user']}:{password}" if password else params["user"]
    return f"postgresql://{auth}@{params['host']}:{params['port']}/{params['dbname']}"


def test_list_shows_every_check_with_code_and_severity(tmp_path):
    out = run_cli("audit", "--list", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "AU101  fk-without-index" in out.stdout
    assert "[needs models]" in out.stdout
    listed = json.loads(run_cli("audit", "--list", "--format", "json", cwd=tmp_path).stdout)
    assert {"code": "AU108", "name": "invalid-index", "severity": "error"}.items() <= listed[
        7
    ].items()


def test_error_findings_exit_1_with_json_evidence_and_check_subset(db, tmp_path):
    db.sql("CREATE TABLE t (id int PRIMARY KEY, v int)", "INSERT INTO t VALUES (1, 1), (2, 1)")
    db.fails("CREATE UNIQUE INDEX CONCURRENTLY t_v_uniq ON t (v)")
    out = run_cli(
        "audit",
        "--dsn",
        _dsn(db.params),
        "--check",
        "AU108",
        "--check",
        "table-without-primary-key",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert [f["code"] for f in report["findings"]] == ["AU108"]
    assert report["findings"][0]["evidence"]["definition"].startswith("CREATE UNIQUE INDEX")
    assert report["summary"]["checks"] == 2 and report["summary"]["errors"] == 1


def test_clean_database_exits_0_in_every_format(db, tmp_path):
    db.sql("CREATE TABLE t (id int PRIMARY KEY)")
    args = ("audit", "--dsn", _dsn(db.params), "--check", "AU101", "--check", "AU108")
    for fmt in ("text", "markdown", "sarif", "github", "json"):
        out = run_cli(*args, "--format", fmt, cwd=tmp_path)
        assert out.returncode == 0, (fmt, out.stderr)
    sarif = json.loads(run_cli(*args, "--format", "sarif", cwd=tmp_path).stdout)
    assert {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]} == {"AU101", "AU108"}


def test_pg_environment_variables_pick_the_target(db, tmp_path):
    db.sql("CREATE TABLE nokey (a int)")
    env = {
        "PGHOST": db.params["host"],
        "PGPORT": db.params["port"],
        "PGUSER": db.params["user"],
        "PGDATABASE": db.params["dbname"],
    }
    out = run_cli("audit", "--check", "AU201", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "nokey has no primary key" in out.stdout
    assert f"/{db.params['dbname']}" in out.stdout


@pytest.mark.parametrize(
    "dsn",
    ["postgresql://audit:s3cr3t-pw@127.0.0.1:1/nowhere", "host=127.0.0.1 password=s3cr3t-pw port"],
)
def test_bad_or_unreachable_target_is_one_line_exit_2_without_password(dsn, tmp_path):
    out = run_cli("audit", "--dsn", dsn, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith("schemaops: error:")
    assert "s3cr3t-pw" not in out.stderr


def test_unknown_check_is_a_usage_error(tmp_path):
    out = run_cli("audit", "--check", "AU999", "--list", cwd=tmp_path)
    assert out.returncode == 2 and "unknown audit check 'AU999'" in out.stderr


def test_a_blocked_catalog_query_times_out_with_one_line(db, tmp_path):
    db.sql("CREATE TABLE t (id serial PRIMARY KEY)", "SELECT setval('t_id_seq', 2000000000)")
    blocker = psycopg2.connect(**db.params)
    try:
        with blocker.cursor() as cur:  # an open transaction holding the sequence's lock
            cur.execute("ALTER SEQUENCE t_id_seq RESTART WITH 5")
        started = time.monotonic()
        out = run_cli(
            "audit", "--dsn", _dsn(db.params), "--check", "AU202", "--timeout", "1s", cwd=tmp_path
        )
        assert time.monotonic() - started < 20
    finally:
        blocker.rollback()
        blocker.close()
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        "schemaops: error: AU202 failed: a catalog query ran past the 1s timeout (--timeout)"
    ]


def test_the_connection_is_read_only(db):
    conn = open_readonly(db.params, "5s")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW default_transaction_read_only")
            assert cur.fetchone()[0] == "on"
            with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
                cur.execute("CREATE TABLE sneaky (id int)")
    finally:
        conn.close()


def _writes(params):
    conn = psycopg2.connect(**{**params, "dbname": "postgres"})
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT tup_inserted + tup_updated + tup_deleted, xact_rollback "
                "FROM pg_stat_database WHERE datname = %s",
                (params["dbname"],),
            )
            return cur.fetchone()
    finally:
        conn.close()


def test_a_full_audit_with_models_writes_nothing(shop_copy):
    from support import SAMPLE  # type: ignore[import-not-found]

    shop_copy.sql("CREATE EXTENSION hypopg", "CREATE TABLE scratch (a int)")
    time.sleep(1.0)
    before = _writes(shop_copy.params)
    out = run_cli(
        "audit", "--memory", "4GB", cwd=SAMPLE, env={"SHOP_DB_NAME": shop_copy.params["dbname"]}
    )
    assert out.returncode in (0, 1), out.stderr
    assert "target: postgres@127.0.0.1:5432/" + shop_copy.params["dbname"] in out.stdout
    time.sleep(1.0)  # the audit's backend flushes its counters as it exits
    assert _writes(shop_copy.params) == before


def test_sample_project_audit_from_the_readme(shop_db):
    from support import SAMPLE  # type: ignore[import-not-found]

    out = run_cli("audit", cwd=SAMPLE)
    assert out.returncode == 0, out.stderr
    assert "AU101 fk-without-index" in out.stdout
    assert "orders.OrderLine.product" in out.stdout
    assert "AddIndexConcurrently(" in out.stdout
    assert "AU106 redundant-index" in out.stdout and "orders.Order.customer" in out.stdout
