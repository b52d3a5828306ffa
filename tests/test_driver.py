"""A project on psycopg 3 alone: every command that connects works without psycopg2.

The commands run in a subprocess where ``import psycopg2`` fails, so what is
exercised is the psycopg 3 path of :mod:`schemaops.driver`, against the real
server. (Everywhere else the suite runs with psycopg2 installed.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from tinyproj import migration_source, write_project

pytest.importorskip("psycopg")

WITHOUT_PSYCOPG2 = (
    "import sys; sys.modules['psycopg2'] = None\n"
    "from schemaops.cli import main\n"
    "main(sys.argv[1:])\n"
)


def run_without_psycopg2(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG2, *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def dsn(params: dict[str, str]) -> str:
    return "postgresql://{user}@{host}:{port}/{dbname}".format(**params)


def test_driver_is_psycopg_3_when_psycopg2_is_missing(tmp_path):
    code = 'from schemaops import driver; print(driver.NAME, driver.quote_literal("it\'s"))'
    proc = run_without_psycopg2_code(code, tmp_path)
    assert proc.stdout.split(None, 1) == ["psycopg", "'it''s'\n"], proc.stderr


def run_without_psycopg2_code(code: str, cwd) -> subprocess.CompletedProcess[str]:
    prelude = "import sys; sys.modules['psycopg2'] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=cwd, capture_output=True, text=True
    )


def test_tune_and_audit_connect_with_psycopg_3(scratch_db, tmp_path):
    tuned = run_without_psycopg2(
        "tune", "--dsn", dsn(scratch_db), "--memory", "4GB", "--format", "json", cwd=tmp_path
    )
    assert tuned.returncode == 0, tuned.stderr
    payload = json.loads(tuned.stdout)
    assert payload["target"].endswith("/" + scratch_db["dbname"])
    assert payload["inputs"]["pg_version"]["source"].startswith("detected: server_version_num")
    audited = run_without_psycopg2("audit", "--dsn", dsn(scratch_db), cwd=tmp_path)
    assert audited.returncode in (0, 1), audited.stderr
    assert " failed: " not in audited.stderr and "Traceback" not in audited.stderr
    assert "schemaops audit: target: " in audited.stdout


def test_check_quotes_runsql_parameters_with_psycopg_3(tmp_path):
    ops = 'migrations.RunSQL([("UPDATE shop_t SET note = %s", ["it\'s"])])'
    root = write_project(tmp_path, {"0001_initial": migration_source(ops)}, port="1")
    proc = run_without_psycopg2("check", "--sql", cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    assert "UPDATE shop_t SET note = 'it''s'" in proc.stdout
