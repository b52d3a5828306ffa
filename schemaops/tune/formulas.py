"""PGTune's formulas as pure functions: a :class:`MachineProfile` in, proposals out.

The numbers follow le0pard/pgtune's current ``configurationSlice.js`` (see
``docs/tune.md``): every memory value is computed in kB
from the total RAM in kB, with the same floors, caps and rounding, so the same
inputs give the same values as the PGTune web form.

schemaops deliberately differs in two places only, and says so in ``why``: a
value past PostgreSQL's own maximum is capped at it (:data:`LIMITS`), and
when the server reports that it cannot accept a value PGTune would emit
(``wal_compression = lz4`` on a build without lz4, ``io_method = io_uring``
without liburing), it proposes the nearest value the server accepts instead
of a setting that would stop the configuration from loading.

Public API (stable): :func:`propose` and :class:`Proposal`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from schemaops.tune import why
from schemaops.tune.inputs import (
    KB_PER_GB,
    KB_PER_MB,
    MachineProfile,
    approx_memory,
    format_memory,
)

__all__ = ["Proposal", "format_memory", "propose", "warnings"]

# PGTune's DEFAULT_DB_SETTINGS: what the server runs with when it proposes no parallel settings.
DEFAULT_MAX_WORKER_PROCESSES = 8
DEFAULT_CONNECTIONS = {"web": 200, "oltp": 300, "dw": 40, "desktop": 20, "mixed": 100}
MIN_WAL_MB = {"web": 1024, "oltp": 2048, "dw": 4096, "desktop": 100, "mixed": 1024}
MAX_WAL_MB = {"web": 4096, "oltp": 8192, "dw": 16384, "desktop": 2048, "mixed": 4096}
IO_CONCURRENCY = {"hdd": 2, "ssd": 200, "san": 300, "nvme": 1000}
WORK_MEM_DIVISOR = {"web": 1, "oltp": 1, "dw": 2, "desktop": 6, "mixed": 2}


@dataclass(frozen=True)
class Proposal:
    """One proposed setting.

    ``value`` is an int in kB when ``unit == "kB"`` (memory settings), else the
    plain int, float or string the server takes; ``why`` explains the number
    in one or two sentences a new user can follow.
    """

    name: str
    value: int | float | str
    unit: str | None
    why: str

    @property
    def setting(self) -> str:
        """The value as PostgreSQL writes it: ``2GB``, ``20164kB``, ``0.9``, ``try``."""
        if self.unit == "kB" and isinstance(self.value, int):
            return format_memory(self.value)
        return str(self.value)


def _windows_old(p: MachineProfile) -> bool:
    """Windows builds up to 17 reject memory settings of 2GB and more."""
    return p.os_type == "windows" and p.pg_version <= 17


# -- memory -------------------------------------------------------------------


def max_connections(p: MachineProfile) -> int:
    return p.max_connections or DEFAULT_CONNECTIONS[p.workload]


def shared_buffers(p: MachineProfile) -> int:
    return p.ram_kb // 16 if p.workload == "desktop" else p.ram_kb // 4


def effective_cache_size(p: MachineProfile) -> int:
    return p.ram_kb // 4 if p.workload == "desktop" else p.ram_kb * 3 // 4


def maintenance_work_mem(p: MachineProfile) -> int:
    value = p.ram_kb // 8 if p.workload == "dw" else p.ram_kb // 16
    cap = 2 * KB_PER_GB if _windows_old(p) else 8 * KB_PER_GB
    if value >= cap:
        value = cap - KB_PER_MB if _windows_old(p) else cap
    return value


def wal_buffers(p: MachineProfile) -> int:
    value = 3 * shared_buffers(p) // 100
    value = min(value, 16 * KB_PER_MB)
    if 14 * KB_PER_MB < value < 16 * KB_PER_MB:
        value = 16 * KB_PER_MB
    return max(value, 32)


def parallel_settings(p: MachineProfile) -> dict[str, int]:
    """Worker settings; empty unless at least 4 CPUs are known (as PGTune)."""
    if not p.cpus or p.cpus < 4:
        return {}
    half = math.ceil(p.cpus / 2)
    settings = {
        "max_worker_processes": p.cpus,
        "max_parallel_workers_per_gather": half if p.workload == "dw" else min(half, 4),
    }
    if p.pg_version >= 10:
        settings["max_parallel_workers"] = p.cpus
    if p.pg_version >= 11:
        settings["max_parallel_maintenance_workers"] = min(half, 4)
    return settings


def work_mem(p: MachineProfile) -> int:
    workers = parallel_settings(p).get("max_worker_processes", DEFAULT_MAX_WORKER_PROCESSES)
    base = (p.ram_kb - shared_buffers(p)) / ((max_connections(p) + workers) * 3)
    value = math.floor(base / WORK_MEM_DIVISOR[p.workload])
    if p.db_size == "less_ram":
        value = math.floor(value * 1.3)
    elif p.db_size == "greater_ram":
        value = math.floor(value * 0.9)
    value = max(value, 4 * KB_PER_MB)
    if _windows_old(p):
        value = min(value, 2 * KB_PER_GB - KB_PER_MB)
    return value


def autovacuum_work_mem(p: MachineProfile) -> int | None:
    threshold = 2 * KB_PER_GB
    if maintenance_work_mem(p) < threshold:
        return None
    return threshold - KB_PER_MB if _windows_old(p) else threshold


# -- planner, I/O, version-specific -----------------------------------------------


def random_page_cost(p: MachineProfile) -> float | int:
    if p.db_size == "less_ram":
        return 1.1
    if p.storage == "hdd" or p.workload == "dw":
        return 4
    return 1.1


def effective_io_concurrency(p: MachineProfile) -> int | None:
    return IO_CONCURRENCY[p.storage] if p.os_type == "linux" else None


def huge_pages(p: MachineProfile) -> str:
    if p.os_type == "mac":
        return "off"
    return "try" if shared_buffers(p) >= 2 * KB_PER_GB else "off"


def jit(p: MachineProfile) -> str | None:
    return "off" if p.pg_version >= 12 and p.workload in {"web", "oltp", "mixed"} else None


def wal_compression(p: MachineProfile) -> tuple[str | None, bool]:
    """PGTune's value, and whether schemaops fell back because the server lacks lz4."""
    if p.pg_version < 10:
        return None, False
    value = "lz4" if p.pg_version >= 15 else "on"
    if not p.accepts("wal_compression", value):
        return "on", True
    return value, False


def autovacuum_max_workers(p: MachineProfile) -> int | None:
    if not p.cpus:
        return None
    if p.cpus >= 32:
        return 5
    return 4 if p.cpus >= 16 else None


def io_method(p: MachineProfile) -> tuple[str | None, bool]:
    """PGTune's io_method on 18+, and whether schemaops fell back (no io_uring here)."""
    if p.pg_version < 18:
        return None, False
    value = "io_uring" if p.os_type == "linux" else "worker"
    if not p.accepts("io_method", value):
        return "worker", True
    return value, False


def io_workers(p: MachineProfile) -> int | None:
    method, _ = io_method(p)
    if method is None or method == "io_uring" or not p.cpus:
        return None
    value = max(3, min(32, p.cpus // 4))
    return value if value > 3 else None


# -- the proposal ---------------------------------------------------------------------


def propose(profile: MachineProfile) -> dict[str, Proposal]:
    """Every setting PGTune emits for ``profile``, in PGTune's order, with reasons.

    Settings PGTune omits for these inputs (parallel workers below 4 CPUs, jit
    for dw/desktop, io_method before 18...) are absent from the result.
    """
    return {proposal.name: proposal for proposal in _proposals(profile)}


def _proposals(p: MachineProfile) -> Iterator[Proposal]:
    for build in _BUILDERS:
        for proposal in build(p):
            yield _within_limits(proposal)


# The largest values PostgreSQL accepts (guc_tables.c, 64-bit builds; memory in kB):
# a larger one in postgresql.conf stops the server from starting.
_INT_MAX = 2**31 - 1
LIMITS: dict[str, int] = {
    "shared_buffers": (_INT_MAX // 2) * 8,  # INT_MAX / 2 buffers of 8kB
    "effective_cache_size": _INT_MAX * 8,  # INT_MAX pages of 8kB
    "work_mem": _INT_MAX,  # MAX_KILOBYTES
    "maintenance_work_mem": _INT_MAX,
    "autovacuum_work_mem": _INT_MAX,
    "max_parallel_workers": 1024,  # MAX_PARALLEL_WORKER_LIMIT
    "max_parallel_workers_per_gather": 1024,
    "max_parallel_maintenance_workers": 1024,
}


def _within_limits(proposal: Proposal) -> Proposal:
    """PGTune's number, or PostgreSQL's maximum when the formula goes past it."""
    limit = LIMITS.get(proposal.name)
    if limit is None or not isinstance(proposal.value, int) or proposal.value <= limit:
        return proposal
    shown = format_memory(limit) if proposal.unit == "kB" else str(limit)
    return Proposal(
        proposal.name,
        limit,
        proposal.unit,
        f"{proposal.why} Capped at {shown}, the largest value PostgreSQL accepts.",
    )


def _memory(p: MachineProfile) -> Iterator[Proposal]:
    ram = approx_memory(p.ram_kb)
    conns = max_connections(p)
    yield Proposal("max_connections", conns, None, why.max_connections(p, conns))
    sb = shared_buffers(p)
    yield Proposal("shared_buffers", sb, "kB", why.shared_buffers(p, ram))
    yield Proposal("effective_cache_size", effective_cache_size(p), "kB", why.ecs(p, ram))
    yield Proposal(
        "maintenance_work_mem", maintenance_work_mem(p), "kB", why.maintenance_work_mem(p, ram)
    )
    yield Proposal("checkpoint_completion_target", 0.9, None, why.CHECKPOINT_TARGET)
    yield Proposal("wal_buffers", wal_buffers(p), "kB", why.WAL_BUFFERS)
    yield Proposal(
        "default_statistics_target",
        500 if p.workload == "dw" else 100,
        None,
        why.statistics_target(p),
    )


def _storage(p: MachineProfile) -> Iterator[Proposal]:
    yield Proposal("random_page_cost", random_page_cost(p), None, why.random_page_cost(p))
    eio = effective_io_concurrency(p)
    if eio is not None:
        yield Proposal("effective_io_concurrency", eio, None, why.io_concurrency(p))


def _work_mem_and_wal(p: MachineProfile) -> Iterator[Proposal]:
    workers = parallel_settings(p).get("max_worker_processes", DEFAULT_MAX_WORKER_PROCESSES)
    yield Proposal("work_mem", work_mem(p), "kB", why.work_mem(p, max_connections(p), workers))
    yield Proposal("huge_pages", huge_pages(p), None, why.huge_pages(p))
    yield Proposal("min_wal_size", MIN_WAL_MB[p.workload] * KB_PER_MB, "kB", why.MIN_WAL)
    yield Proposal("max_wal_size", MAX_WAL_MB[p.workload] * KB_PER_MB, "kB", why.MAX_WAL)


def _parallel(p: MachineProfile) -> Iterator[Proposal]:
    for name, value in parallel_settings(p).items():
        yield Proposal(name, value, None, why.parallel(name, p))


def _newer(p: MachineProfile) -> Iterator[Proposal]:
    if (jit_value := jit(p)) is not None:
        yield Proposal("jit", jit_value, None, why.JIT)
    compression, fell_back = wal_compression(p)
    if compression is not None:
        yield Proposal("wal_compression", compression, None, why.wal_compression(fell_back))
    if (workers := autovacuum_max_workers(p)) is not None:
        yield Proposal("autovacuum_max_workers", workers, None, why.AUTOVACUUM_WORKERS)
    if (av_mem := autovacuum_work_mem(p)) is not None:
        yield Proposal("autovacuum_work_mem", av_mem, "kB", why.AUTOVACUUM_WORK_MEM)
    method, fell_back = io_method(p)
    if method is not None:
        yield Proposal("io_method", method, None, why.io_method(fell_back))
    if (count := io_workers(p)) is not None:
        yield Proposal("io_workers", count, None, why.IO_WORKERS)
    if p.workload == "desktop":
        yield Proposal("wal_level", "minimal", None, why.WAL_LEVEL_MINIMAL)
        yield Proposal("max_wal_senders", 0, None, why.NO_WAL_SENDERS)


_BUILDERS: tuple[Callable[[MachineProfile], Iterator[Proposal]], ...] = (
    _memory,
    _storage,
    _work_mem_and_wal,
    _parallel,
    _newer,
)


def warnings(p: MachineProfile) -> list[str]:
    """PGTune's warnings for these inputs, plus postgres-checkup G001's worst-case memory check."""
    notes = []
    if p.ram_kb > 100 * KB_PER_GB:
        notes.append("PGTune's formulas are not optimal for very high memory systems (>100GB).")
    if p.workload == "dw" and p.storage != "hdd" and p.db_size != "less_ram":
        notes.append(
            "dw on non-hdd storage with data larger than RAM: random_page_cost left at 4; "
            "lower it if your storage has fast random reads."
        )
    worst = _worst_case_kb(p)
    if worst >= 0.9 * p.ram_kb:
        notes.append(
            f"Worst case if every connection used work_mem twice at once: {approx_memory(worst)} "
            f"of {approx_memory(p.ram_kb)} RAM (postgres-checkup G001 flags 90%); "
            "a connection pooler keeps real use far below."
        )
    return notes


def _worst_case_kb(p: MachineProfile) -> int:
    """G001: shared_buffers + 2·connections·work_mem + autovacuum workers·their memory."""
    av_workers = autovacuum_max_workers(p) or 3
    av_mem = autovacuum_work_mem(p) or maintenance_work_mem(p)
    return shared_buffers(p) + 2 * max_connections(p) * work_mem(p) + av_workers * av_mem
