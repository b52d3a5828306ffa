"""Detect tuning inputs: from the server over a connection, and from this machine.

Memory and CPUs are read from this machine only when the server runs here,
and they respect container limits: the cgroup (v2 ``memory.max`` and
``cpu.max``, v1 ``memory.limit_in_bytes`` and ``cpu.cfs_quota_us``) of the
server's own backend process when it is visible in ``/proc``, else of this
process. Storage comes from ``/sys/block/*/queue/rotational`` of the disk
holding the data directory. Every function takes ``root`` (default ``/``) so
that a different file tree can be read.

Each detector returns ``{field: (value, how)}`` for :func:`build_profile`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from schemaops.driver import sql
from schemaops.tune.local_version import local_pg_version

Detected = dict[str, tuple[Any, str]]
_UNLIMITED_BYTES = 1 << 60  # cgroup v1 writes ~2**63 for "no limit"


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def cgroup_paths(root: Path, pid: int | str = "self") -> dict[str, str]:
    """Controller -> cgroup path for ``pid`` from /proc/<pid>/cgroup ("" = v2 unified)."""
    text = _read(root / "proc" / str(pid) / "cgroup") or ""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(","):
            paths[controller] = parts[2]
    return paths


def _ancestors(base: Path, cgroup: str) -> list[Path]:
    """base/<cgroup>, then each parent up to base: a limit on any of them applies."""
    parts = [part for part in cgroup.split("/") if part]
    return [base.joinpath(*parts[:i]) for i in range(len(parts), -1, -1)]


def _v1_dir(root: Path, controller: str) -> Path | None:
    base = root / "sys" / "fs" / "cgroup"
    for name in (controller, "cpu,cpuacct", "cpuacct,cpu"):
        if (base / name).is_dir() and (controller in name.split(",")):
            return base / name
    return None


def cgroup_memory_limit(root: Path, pid: int | str = "self") -> tuple[int, str] | None:
    """The tightest cgroup memory limit in bytes, and which file said so."""
    paths = cgroup_paths(root, pid)
    limits: list[tuple[int, str]] = []
    if "" in paths and (root / "sys/fs/cgroup/cgroup.controllers").exists():
        for folder in _ancestors(root / "sys/fs/cgroup", paths[""]):
            value = _read(folder / "memory.max")
            if value and value != "max":
                limits.append((int(value), "cgroup v2 memory.max"))
    v1 = _v1_dir(root, "memory")
    if "memory" in paths and v1:
        for folder in _ancestors(v1, paths["memory"]):
            value = _read(folder / "memory.limit_in_bytes")
            if value and int(value) < _UNLIMITED_BYTES:
                limits.append((int(value), "cgroup v1 memory.limit_in_bytes"))
    return min(limits) if limits else None


def cgroup_cpu_limit(root: Path, pid: int | str = "self") -> tuple[int, str] | None:
    """CPUs allowed by the cgroup's CFS quota (rounded up), and which file said so."""
    paths = cgroup_paths(root, pid)
    limits: list[tuple[int, str]] = []
    if "" in paths and (root / "sys/fs/cgroup/cgroup.controllers").exists():
        for folder in _ancestors(root / "sys/fs/cgroup", paths[""]):
            quota, _, period = (_read(folder / "cpu.max") or "max").partition(" ")
            if quota != "max" and period:
                limits.append((math.ceil(int(quota) / int(period)), "cgroup v2 cpu.max"))
    v1 = _v1_dir(root, "cpu")
    if "cpu" in paths and v1:
        for folder in _ancestors(v1, paths["cpu"]):
            cfs_quota = int(_read(folder / "cpu.cfs_quota_us") or -1)
            cfs_period = int(_read(folder / "cpu.cfs_period_us") or 0)
            if cfs_quota > 0 and cfs_period > 0:
                limits.append((math.ceil(cfs_quota / cfs_period), "cgroup v1 cpu.cfs_quota_us"))
    return min(limits) if limits else None


def physical_memory_kb(root: Path) -> int | None:
    for line in (_read(root / "proc" / "meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1])
    return None


def _affinity(pid: int | None) -> int:
    try:
        return len(os.sched_getaffinity(pid or 0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def machine_resources(root: Path = Path("/"), pid: int | None = None) -> dict[str, Any]:
    """RAM (kB) and CPUs of this machine as seen by process ``pid`` (or this process).

    Returns ``{"ram_kb": (kb, how), "cpus": (n, how)}``; a cgroup limit wins
    over the physical amount when it is smaller.
    """
    target: int | str = pid if pid and _is_postgres(root, pid) else "self"
    who = "the server's" if target != "self" else "this process's"
    found: dict[str, Any] = {}
    physical = physical_memory_kb(root)
    limit = cgroup_memory_limit(root, target)
    if limit and (physical is None or limit[0] // 1024 < physical):
        found["ram_kb"] = (limit[0] // 1024, f"detected: {who} {limit[1]}")
    elif physical:
        found["ram_kb"] = (physical, "detected: /proc/meminfo MemTotal")
    cpus = _affinity(pid if target != "self" else None)
    quota = cgroup_cpu_limit(root, target)
    if quota and quota[0] < cpus:
        found["cpus"] = (max(quota[0], 1), f"detected: {who} {quota[1]}")
    else:
        found["cpus"] = (cpus, f"detected: CPUs in {who} affinity mask")
    return found


def _is_postgres(root: Path, pid: int) -> bool:
    """The pid the server reported is a postgres process in our /proc (same namespace)."""
    comm = _read(root / "proc" / str(pid) / "comm") or ""
    return comm.startswith("postgres")


def storage_of(path: str, root: Path = Path("/")) -> tuple[str, str] | None:
    """ssd/nvme/hdd for the block device holding ``path``, from sysfs.

    A virtual disk (virtio, xen) says "rotational" whatever is underneath, so
    it is reported as an assumption of ssd rather than a detection of hdd.
    """
    try:
        dev = os.stat(root / path.lstrip("/")).st_dev
    except OSError:
        return None
    block = root / "sys/dev/block" / f"{os.major(dev)}:{os.minor(dev)}"
    try:
        device = block.resolve()
    except OSError:
        return None
    queue = device / "queue" if (device / "queue").exists() else device.parent / "queue"
    rotational = _read(queue / "rotational")
    if rotational is None:
        return None
    name = queue.parent.name
    if rotational == "0":
        kind = "nvme" if name.startswith("nvme") else "ssd"
        return kind, f"detected: /sys/block/{name} is not rotational"
    if any(part in str(device) for part in ("virtio", "xen", "/virtual/")):
        return "ssd", f"assumed: ssd (/sys/block/{name} is a virtual disk; give --storage)"
    return "hdd", f"detected: /sys/block/{name} is rotational"


# -- the server ---------------------------------------------------------------------------

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_SERVER_FACTS = sql.SQL(
    """SELECT current_setting('server_version_num')::int,
              current_setting('max_connections')::int,
              inet_server_addr() IS NULL OR host(inet_server_addr()) IN ('127.0.0.1', '::1'),
              pg_backend_pid(),
              (SELECT setting FROM pg_settings WHERE name = 'data_directory')"""
)
# pg_database_size() lists the database's directory and stats every file: a second
# for a database of 100,000 indexes (175,000 files).
_ALL_DATABASES_BYTES = sql.SQL(
    """SELECT sum(pg_database_size(oid))::bigint FROM pg_database
       WHERE datallowconn AND has_database_privilege(oid, 'CONNECT')"""
)
# The same sum with this database's size taken from its catalog (pages as of the last
# VACUUM, ANALYZE or CREATE INDEX): within a few percent of the files, and it reads one
# catalog instead of stat()-ing every file. Only the size bucket (less than RAM, 1-3x,
# more) is made of it.
_ESTIMATED_DATABASES_BYTES = sql.SQL(
    """SELECT (SELECT sum(greatest(relpages, 0))::bigint * current_setting('block_size')::int
               FROM pg_class WHERE relkind IN ('r', 'i', 't', 'm', 'S'))
            + coalesce((SELECT sum(pg_database_size(oid))::bigint FROM pg_database
                        WHERE datallowconn AND has_database_privilege(oid, 'CONNECT')
                          AND datname <> current_database()), 0)"""
)
_ENUMS = sql.SQL(
    "SELECT name, enumvals FROM pg_settings WHERE name IN ('wal_compression', 'io_method')"
)


def is_local_host(params: dict[str, Any]) -> bool:
    """The connection target names this machine (a loopback address or a Unix socket)."""
    host = str(params.get("host") or os.environ.get("PGHOST") or "")
    return not host or host.startswith("/") or host in _LOCAL_HOSTS


def server_inputs(
    conn: Any,
    params: dict[str, Any],
    root: Path = Path("/"),
    *,
    estimate_this_database: bool = False,
) -> Detected:
    """Version, connections, database size and accepted enum values from the server;
    RAM, CPUs and storage from this machine when the server runs on it.

    ``estimate_this_database``: the connected database's size from its catalog
    rather than its files (``schemaops audit``, which runs on databases of
    100,000 indexes and needs only the size bucket); the other databases are
    measured either way.
    """
    with conn.cursor() as cur:
        cur.execute(_SERVER_FACTS)
        version, conns, loopback, pid, data_dir = cur.fetchone()
        cur.execute(_ESTIMATED_DATABASES_BYTES if estimate_this_database else _ALL_DATABASES_BYTES)
        (db_bytes,) = cur.fetchone()
        cur.execute(_ENUMS)
        enums = {name: frozenset(values or ()) for name, values in cur.fetchall()}
    found: Detected = {
        "pg_version": (version // 10000, f"detected: server_version_num {version}"),
        "max_connections": (conns, "detected: the server's max_connections"),
        "available": (enums, "detected: pg_settings.enumvals"),
    }
    if db_bytes is not None:
        how = "detected: size of all databases vs RAM"
        if estimate_this_database:
            how += " (this one's from pg_class.relpages)"
        found["db_bytes"] = (int(db_bytes), how)
    if is_local_host(params) and loopback:
        found.update(machine_resources(root, pid))
        storage = storage_of(data_dir, root) if data_dir else None
        if storage:
            found["storage"] = storage
    return found


def offline_inputs(root: Path = Path("/")) -> Detected:
    """With no server: this machine's RAM and CPUs, as if the server were to run here."""
    found = machine_resources(root)
    detected: Detected = {
        name: (value, how.replace("detected:", "detected (no server, this machine):"))
        for name, (value, how) in found.items()
    }
    detected["pg_version"] = local_pg_version()
    return detected
