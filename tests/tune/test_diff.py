"""The diff against the real local server's pg_settings (read-only)."""

from __future__ import annotations

import json

import psycopg2
from support import PG, run_cli

from schemaops.tune.diff import CHANGE, SAME, compute_diff, diff_rows, read_settings
from schemaops.tune.formulas import Proposal, propose
from schemaops.tune.inputs import MachineProfile, parse_memory


def connection() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(**PG)
    conn.set_session(readonly=True, autocommit=True)
    return conn


def show(conn: psycopg2.extensions.connection, name: str) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT current_setting(%s)", (name,))
        row = cur.fetchone()
        assert row is not None
        return str(row[0])


def test_diff_reports_current_values_units_and_restart() -> None:
    profile = MachineProfile(ram_kb=parse_memory("8GB"), cpus=4, max_connections=100, pg_version=15)
    conn = connection()
    try:
        rows = {row.name: row for row in compute_diff(conn, propose(profile))}
        shared_buffers, work_mem = show(conn, "shared_buffers"), show(conn, "work_mem")
    finally:
        conn.close()
    assert rows["shared_buffers"].current == shared_buffers
    assert rows["shared_buffers"].needs_restart and rows["shared_buffers"].context == "postmaster"
    assert rows["shared_buffers"].proposed == "2GB" and rows["shared_buffers"].unit == "kB"
    assert rows["work_mem"].current == work_mem and not rows["work_mem"].needs_restart
    assert rows["checkpoint_completion_target"].status in {SAME, CHANGE}


def test_values_within_five_percent_count_as_tuned() -> None:
    conn = connection()
    try:
        settings = read_settings(conn, ["work_mem", "random_page_cost", "jit"])
    finally:
        conn.close()
    work_mem_kb = int(settings["work_mem"].setting)  # unit kB
    cost = float(settings["random_page_cost"].setting)

    def status(name: str, value: object, unit: str | None = None) -> str:
        proposal = Proposal(name, value, unit, "test")  # type: ignore[arg-type]
        return diff_rows({name: proposal}, settings)[0].status

    assert status("work_mem", int(work_mem_kb * 1.04), "kB") == SAME
    assert status("work_mem", int(work_mem_kb * 1.2), "kB") == CHANGE
    assert status("random_page_cost", cost * 0.97) == SAME
    assert status("random_page_cost", cost / 2) == CHANGE
    current_jit = settings["jit"].setting
    assert status("jit", current_jit) == SAME
    assert status("jit", "off" if current_jit == "on" else "on") == CHANGE


def test_setting_unknown_to_this_server_is_marked() -> None:
    conn = connection()
    try:
        settings = read_settings(conn, ["io_method"])
    finally:
        conn.close()
    row = diff_rows({"io_method": Proposal("io_method", "worker", None, "x")}, settings)[0]
    if not settings:  # PostgreSQL before 18
        assert row.status == "unknown to server" and row.current is None


def test_cli_json_against_the_local_server_keeps_secrets_out() -> None:
    dsn = f"postgresql://{PG['user']}:s3cret-pw@{PG['host']}:{PG['port']}/postgres"
    result = run_cli("tune", "--dsn", dsn, "--memory", "8GB", "--cpus", "4", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr
    payload = json.loads(result.stdout)
    assert payload["version"] == 1 and payload["target"].endswith(f":{PG['port']}/postgres")
    names = [row["name"] for row in payload["settings"]]
    assert names[:3] == ["max_connections", "shared_buffers", "effective_cache_size"]
    assert payload["inputs"]["memory"] == {"value": "8GB", "source": "given"}
    assert payload["inputs"]["pg_version"]["source"].startswith("detected")
    summary = payload["summary"]
    assert summary["change"] == sum(row["status"] == "change" for row in payload["settings"])
    sb = next(row for row in payload["settings"] if row["name"] == "shared_buffers")
    assert sb["proposed"] == "2GB" and sb["needs_restart"] is True


def test_django_alias_is_a_target(scratch_db: dict[str, str]) -> None:
    env = {"SHOP_DB_NAME": scratch_db["dbname"], "SHOP_DB_PASSWORD": "hunter2-secret"}
    args = ("tune", "--settings", "shop.settings", "--database", "default", "--format", "json")
    result = run_cli(*args, "--memory", "4GB", env=env)
    assert result.returncode == 0, result.stderr
    assert "hunter2-secret" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["target"].endswith("/" + scratch_db["dbname"])


def test_explicit_django_alias_that_is_down_is_exit_2() -> None:
    env = {"SHOP_DB_NAME": "schemaops_no_such_db_tune"}
    result = run_cli("tune", "--settings", "shop.settings", "--database", "default", env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "schemaops_no_such_db_tune" in result.stderr
