"""Odd machines: every proposal must be a value PostgreSQL itself accepts.

``postgres -C`` parses the settings the way the server does at startup (range
checks included) and prints one, without starting a server or allocating
shared memory, so even a 64TB proposal is checked by PostgreSQL on this machine.
"""

from __future__ import annotations

import subprocess

import pytest

from schemaops.errors import ConfigError
from schemaops.tune.formulas import propose
from schemaops.tune.inputs import MachineProfile, parse_memory


def _server_reads(cluster, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``postgres -C`` of the throwaway cluster, run as the same OS user as its pg_ctl."""
    argv = list(cluster.pg_ctl)
    at = next(i for i, arg in enumerate(argv) if arg.endswith("/pg_ctl"))
    argv = [*argv[:at], argv[at].removesuffix("pg_ctl") + "postgres", "-D", str(cluster.data)]
    argv += ["-C", "shared_buffers"]
    for name, value in settings.items():
        argv += ["-c", f"{name}={value}"]
    return subprocess.run(argv, capture_output=True, text=True)


@pytest.mark.parametrize(
    "memory, cpus, workload",
    [("64TB", 64, "web"), ("16GB", 5000, "dw"), ("512MB", 1, "desktop"), ("2TB", 128, "oltp")],
)
def test_every_proposal_is_in_postgresqls_range(cluster, memory, cpus, workload):
    profile = MachineProfile(
        ram_kb=parse_memory(memory), cpus=cpus, workload=workload, pg_version=15
    )
    settings = {name: p.setting for name, p in propose(profile).items()}
    checked = _server_reads(cluster, settings)
    assert checked.returncode == 0, checked.stderr
    if memory == "64TB":  # PGTune's RAM/4 is 16TB: past the 8TB maximum
        assert settings["shared_buffers"] == "8589934584kB"
        assert "Capped at" in propose(profile)["shared_buffers"].why
    if cpus == 5000:
        assert settings["max_parallel_workers"] == "1024"


def test_too_many_server_processes_is_one_clear_error():
    with pytest.raises(ConfigError, match="more server processes than PostgreSQL allows"):
        MachineProfile(ram_kb=parse_memory("16GB"), cpus=200, max_connections=262000)
