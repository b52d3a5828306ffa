"""The tune command without a server, and bad input (one line, exit 2)."""

from __future__ import annotations

import json
import socket

import pytest
from support import run_cli

EXAMPLE_A = ["--memory", "8GB", "--cpus", "4", "--max-connections", "100", "--workload", "web"]
EXAMPLE_A += ["--storage", "ssd", "--pg-version", "15", "--db-size", "mid_ram", "--os", "linux"]


def unused_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


def test_offline_conf_snippet_is_pgtune_example_a() -> None:
    result = run_cli("tune", "--offline", *EXAMPLE_A, "--format", "conf")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert lines[:4] == [
        "max_connections = 100",
        "shared_buffers = 2GB",
        "effective_cache_size = 6GB",
        "maintenance_work_mem = 512MB",
    ]
    assert "work_mem = 20164kB" in lines and "wal_compression = lz4" in lines


def test_offline_sql_is_alter_system_statements() -> None:
    result = run_cli("tune", "--offline", *EXAMPLE_A, "--format", "sql")
    assert result.returncode == 0, result.stderr
    assert "ALTER SYSTEM SET shared_buffers = '2GB';" in result.stdout.splitlines()
    assert result.stdout.rstrip().endswith("SELECT pg_reload_conf();")


def test_unreachable_default_server_falls_back_and_says_what_was_assumed() -> None:
    env = {"PGHOST": "127.0.0.1", "PGPORT": unused_port()}
    result = run_cli("tune", "--memory", "8GB", "--format", "json", env=env, cwd="/tmp")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["target"] is None and "cannot connect" in payload["offline_reason"]
    assert payload["inputs"]["storage"]["source"].startswith("assumed")
    assert payload["inputs"]["memory"]["source"] == "given"
    assert {row["status"] for row in payload["settings"]} == {"no server"}


def test_text_output_explains_every_setting() -> None:
    result = run_cli("tune", "--offline", *EXAMPLE_A)
    assert result.returncode == 0, result.stderr
    inputs = result.stdout.split("+ max_connections")[0].splitlines()[2:]
    assert len(inputs) >= 8 and all(line.rstrip().endswith("given") for line in inputs if line)
    assert "PostgreSQL's own page cache: 25% of 8GB RAM" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--offline", "--memory", "8GB", "--storage", "floppy"], "unknown storage 'floppy'"),
        (["--offline", "--memory", "lots"], "cannot read memory size 'lots'"),
        (["--offline", "--memory", "8GB", "--cpus", "x"], "--cpus: 'x' is not a whole number"),
        (["--offline", "--memory", "8GB", "--workload", "batch"], "unknown workload 'batch'"),
        (["--offline", "--apply"], "need a server"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = run_cli("tune", *args, cwd="/tmp")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_apply_with_no_server_is_exit_2() -> None:
    env = {"PGHOST": "127.0.0.1", "PGPORT": unused_port()}
    result = run_cli("tune", "--memory", "8GB", "--apply", "--yes", env=env, cwd="/tmp")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot connect" in result.stderr


def test_help_has_examples() -> None:
    result = run_cli("tune", "--help", cwd="/tmp")
    assert result.returncode == 0 and "Examples:" in result.stdout and "--revert" in result.stdout
