"""Detection: cgroup v1/v2 limits from real file layouts, and the real local server."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg2
import pytest
from support import PG

from schemaops.tune.detect import machine_resources, server_inputs, storage_of
from schemaops.tune.inputs import STORAGE_TYPES, build_profile

GB = 1024**3


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A file tree with /proc/meminfo saying 16GB."""
    write(tmp_path, "proc/meminfo", "MemTotal:       16777216 kB\nMemFree: 1 kB\n")
    return tmp_path


def test_cgroup_v2_memory_max_and_cpu_max_win_over_the_host(host: Path) -> None:
    write(host, "proc/self/cgroup", "0::/kubepods/pod1/ctr\n")
    write(host, "sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
    write(host, "sys/fs/cgroup/kubepods/memory.max", "max\n")
    write(host, "sys/fs/cgroup/kubepods/pod1/memory.max", str(4 * GB))
    write(host, "sys/fs/cgroup/kubepods/pod1/ctr/memory.max", str(6 * GB))  # parent is tighter
    write(host, "sys/fs/cgroup/kubepods/pod1/ctr/cpu.max", "50000 100000\n")
    found = machine_resources(host)
    assert found["ram_kb"] == (4 * 1024 * 1024, "detected: this process's cgroup v2 memory.max")
    assert found["cpus"] == (1, "detected: this process's cgroup v2 cpu.max")


def test_cgroup_v1_limit_in_bytes_and_cfs_quota(host: Path) -> None:
    write(host, "proc/self/cgroup", "4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n")
    write(host, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
    write(host, "sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", str(2 * GB))
    write(host, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "100000\n")
    write(host, "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    found = machine_resources(host)
    assert found["ram_kb"][0] == 2 * 1024 * 1024
    assert "cgroup v1 memory.limit_in_bytes" in found["ram_kb"][1]
    assert found["cpus"][0] == 1


def test_unlimited_cgroups_fall_back_to_meminfo(host: Path) -> None:
    write(host, "proc/self/cgroup", "0::/\n")
    write(host, "sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
    write(host, "sys/fs/cgroup/memory.max", "max\n")
    write(host, "sys/fs/cgroup/cpu.max", "max 100000\n")
    found = machine_resources(host)
    assert found["ram_kb"] == (16 * 1024 * 1024, "detected: /proc/meminfo MemTotal")
    assert found["cpus"][0] == len(os.sched_getaffinity(0))


def test_limit_above_physical_memory_is_ignored(host: Path) -> None:
    write(host, "proc/self/cgroup", "0::/big\n")
    write(host, "sys/fs/cgroup/cgroup.controllers", "memory\n")
    write(host, "sys/fs/cgroup/big/memory.max", str(64 * GB))
    assert machine_resources(host)["ram_kb"][1] == "detected: /proc/meminfo MemTotal"


def test_this_machine_reads_real_meminfo() -> None:
    meminfo = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    found = machine_resources()
    assert 0 < found["ram_kb"][0] <= int(meminfo)
    assert 1 <= found["cpus"][0] <= len(os.sched_getaffinity(0))


def test_local_server_is_detected_over_the_connection() -> None:
    conn = psycopg2.connect(**PG)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW max_connections")
            max_connections = int(cur.fetchone()[0])
        found = server_inputs(conn, dict(PG))
        expected_version = conn.server_version // 10000
    finally:
        conn.close()
    assert found["pg_version"][0] == expected_version
    assert found["max_connections"][0] == max_connections
    assert "ram_kb" in found and "cpus" in found  # the server runs on this machine
    assert found["storage"][0] in STORAGE_TYPES
    assert "lz4" in found["available"][0]["wal_compression"] or found["available"][0]
    profile = build_profile({"workload": "oltp"}, found)
    assert profile.sources["workload"] == "given"
    assert profile.sources["pg_version"].startswith("detected")
    assert profile.sources["db_size"].startswith("detected")


def test_remote_server_does_not_borrow_this_machines_memory() -> None:
    conn = psycopg2.connect(**PG)
    try:
        found = server_inputs(conn, {**PG, "host": "db.example.internal"})
    finally:
        conn.close()
    assert "ram_kb" not in found and "cpus" not in found


def test_storage_of_a_real_path_is_a_known_type() -> None:
    found = storage_of("/")
    assert found is None or found[0] in STORAGE_TYPES
