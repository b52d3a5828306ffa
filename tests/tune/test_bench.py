"""--bench on the throwaway cluster: before/after pgbench, restart, and clean-up."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support import run_cli


@pytest.mark.slow
def test_bench_reports_ratios_restarts_and_cleans_up(clean_cluster: Any) -> None:
    cluster = clean_cluster
    result = run_cli(
        "tune",
        "--dsn", cluster.dsn(), "--memory", "1GB", "--cpus", "4",
        "--bench", "--yes", "--restart-command", cluster.restart_command,
        "--bench-scale", "1", "--bench-seconds", "2", "--bench-clients", "2",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for mode in ("read-only", "read-write"):
        line = next(line for line in result.stdout.splitlines() if line.startswith(mode))
        before, after, ratio = re.findall(r"[0-9.]+", line)[-3:]
        assert float(before) > 0 and float(after) > 0
        assert abs(float(after) / float(before) - float(ratio)) < 0.01
    assert "restart-only settings were in effect" in result.stdout
    restarted = next(line for line in result.stderr.splitlines() if "restarting" in line)
    assert "shared_buffers" in restarted
    # clean-up: settings restored (and the server restarted back), scratch database gone
    assert "shared_buffers" not in cluster.auto_conf()
    rows = cluster.sql("SELECT setting FROM pg_settings WHERE name = 'shared_buffers'")
    assert rows == [("16384",)]  # 128MB in 8kB pages
    assert (
        cluster.sql("SELECT datname FROM pg_database WHERE datname LIKE 'schemaops_bench%'") == []
    )


def test_bench_without_superuser_changes_nothing(clean_cluster: Any) -> None:
    clean_cluster.sql("DROP ROLE IF EXISTS benchuser")
    clean_cluster.sql("CREATE ROLE benchuser LOGIN CREATEDB")
    result = run_cli("tune", "--dsn", clean_cluster.dsn("benchuser"), "--bench", "--yes")
    assert result.returncode == 2 and "not a superuser" in result.stderr
    assert (
        clean_cluster.sql("SELECT datname FROM pg_database WHERE datname LIKE 'schemaops%'") == []
    )
