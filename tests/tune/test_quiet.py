"""tune -q: no notes on stderr ("Nothing to apply", --bench progress); the result stays."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from support import run_cli

EXAMPLE_A = ["--memory", "8GB", "--cpus", "4", "--workload", "web", "--storage", "ssd"]


def test_quiet_apply_drops_the_nothing_to_apply_note(clean_cluster: Any, tmp_path: Path) -> None:
    state = ["--state-file", str(tmp_path / "state.json")]
    tune = [*EXAMPLE_A, "--apply", "--yes", *state]
    first = run_cli("tune", "--dsn", clean_cluster.dsn("postgres"), *tune)
    assert first.returncode == 0, first.stderr
    restart = clean_cluster.restart_command  # so the restart-only settings count as applied
    try:
        subprocess.run(restart, shell=True, check=True, capture_output=True)
        _second_and_third(clean_cluster, tune)
    finally:
        run_cli("tune", "--dsn", clean_cluster.dsn("postgres"), "--revert", *state)
        subprocess.run(restart, shell=True, check=True, capture_output=True)


def _second_and_third(clean_cluster: Any, tune: list[str]) -> None:
    loud = run_cli("tune", "--dsn", clean_cluster.dsn("postgres"), *tune)
    assert loud.returncode == 0 and "Nothing to apply" in loud.stderr
    quiet = run_cli("tune", "--dsn", clean_cluster.dsn("postgres"), *tune, "-q")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout  # the proposal itself is unchanged
