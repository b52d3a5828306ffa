"""--apply and --revert round-trip on a throwaway cluster (never the shared server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support import run_cli

Cluster = Any  # tests/tune/conftest.py:Cluster (conftest modules are not importable)

# PGTune worked example A: the cluster's max_connections is 100.
EXAMPLE_A = ["--memory", "8GB", "--cpus", "4", "--workload", "web", "--storage", "ssd"]
EXAMPLE_A += ["--db-size", "mid_ram"]


def tune(cluster: Cluster, *args: str, user: str = "postgres") -> Any:
    return run_cli("tune", "--dsn", cluster.dsn(user), *args)


def setting(cluster: Cluster, name: str) -> tuple[object, ...]:
    rows = cluster.sql(
        "SELECT setting, unit, pending_restart FROM pg_settings WHERE name = %s", name
    )
    return rows[0]


def test_apply_then_revert_restores_previous_values(clean_cluster: Cluster, tmp_path: Path) -> None:
    cluster = clean_cluster
    cluster.sql("ALTER SYSTEM SET work_mem = '8MB'")  # a value a DBA set before schemaops
    cluster.sql("SELECT pg_reload_conf()")
    state = tmp_path / "state.json"

    applied = tune(cluster, *EXAMPLE_A, "--apply", "--yes", "--state-file", str(state))
    assert applied.returncode == 0, applied.stderr
    assert setting(cluster, "work_mem")[:2] == ("20164", "kB")
    assert setting(cluster, "random_page_cost")[0] == "1.1"
    assert setting(cluster, "jit")[0] == "off"
    assert setting(cluster, "shared_buffers")[2] is True  # 2GB waits for a restart
    assert "shared_buffers = '2GB'" in cluster.auto_conf()
    assert "Restart the server for:" in applied.stdout and "shared_buffers" in applied.stdout
    saved = json.loads(state.read_text())["settings"]
    assert saved["work_mem"] == {"before": "8MB", "applied": "20164kB"}
    assert saved["shared_buffers"] == {"before": None, "applied": "2GB"}

    reverted = tune(cluster, "--revert", "--state-file", str(state))
    assert reverted.returncode == 0, reverted.stderr
    assert setting(cluster, "work_mem")[:2] == ("8192", "kB")
    assert setting(cluster, "jit")[0] == "on"
    assert setting(cluster, "shared_buffers")[2] is False
    auto = cluster.auto_conf()
    assert "work_mem = '8MB'" in auto and "shared_buffers" not in auto and "jit" not in auto
    assert not state.exists()


def test_second_apply_keeps_the_first_saved_value(clean_cluster: Cluster, tmp_path: Path) -> None:
    state = ["--state-file", str(tmp_path / "state.json")]
    first = tune(clean_cluster, *EXAMPLE_A, "--apply", "--yes", *state)
    assert first.returncode == 0, first.stderr
    oltp = [*EXAMPLE_A, "--workload", "oltp"]
    second = tune(clean_cluster, *oltp, "--apply", "--yes", *state)
    assert second.returncode == 0, second.stderr
    assert setting(clean_cluster, "max_wal_size")[:2] == ("8192", "MB")  # oltp's 8GB

    assert tune(clean_cluster, "--revert", *state).returncode == 0
    assert setting(clean_cluster, "max_wal_size")[:2] == ("1024", "MB")  # the server default
    assert "max_wal_size" not in clean_cluster.auto_conf()


def test_revert_leaves_alone_what_someone_changed_since(
    clean_cluster: Cluster, tmp_path: Path
) -> None:
    state = ["--state-file", str(tmp_path / "state.json")]
    assert tune(clean_cluster, *EXAMPLE_A, "--apply", "--yes", *state).returncode == 0
    clean_cluster.sql("ALTER SYSTEM SET random_page_cost = 2")

    reverted = tune(clean_cluster, "--revert", *state)
    assert reverted.returncode == 0, reverted.stderr
    assert "Left alone" in reverted.stdout and "random_page_cost" in reverted.stdout
    assert "random_page_cost = '2'" in clean_cluster.auto_conf()
    assert "work_mem" not in clean_cluster.auto_conf()


def test_diff_after_apply_marks_live_settings_same(clean_cluster: Cluster, tmp_path: Path) -> None:
    state = ["--state-file", str(tmp_path / "state.json")]
    assert tune(clean_cluster, *EXAMPLE_A, "--apply", "--yes", *state).returncode == 0
    after = tune(clean_cluster, *EXAMPLE_A, "--format", "json")
    rows = {row["name"]: row for row in json.loads(after.stdout)["settings"]}
    assert rows["work_mem"]["status"] == "same"
    assert rows["effective_cache_size"]["status"] == "same"
    # applied but not in effect until a restart
    assert rows["shared_buffers"]["status"] == "change"
    assert rows["shared_buffers"]["needs_restart"] is True


def test_non_superuser_gets_one_clear_line(clean_cluster: Cluster, tmp_path: Path) -> None:
    clean_cluster.sql("DROP ROLE IF EXISTS tuner")
    clean_cluster.sql("CREATE ROLE tuner LOGIN")
    state = ["--state-file", str(tmp_path / "state.json")]
    for args in (["--apply", "--yes"], ["--revert"]):
        result = tune(clean_cluster, *EXAMPLE_A, *args, *state, user="tuner")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert "'tuner' is not a superuser" in result.stderr
    assert "work_mem" not in clean_cluster.auto_conf()
    assert not (tmp_path / "state.json").exists()


def test_revert_without_state_is_a_usage_error(clean_cluster: Cluster, tmp_path: Path) -> None:
    result = tune(clean_cluster, "--revert", "--state-file", str(tmp_path / "none.json"))
    assert result.returncode == 2
    assert "nothing to revert" in result.stderr
