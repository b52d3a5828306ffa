"""The explanation printed next to each proposed setting.

Each text says what the setting does, the rule that gave the number (PGTune's
formula), and, where schemaops departs from PGTune, that it does and why.
"""

from __future__ import annotations

from schemaops.tune.inputs import MachineProfile

CHECKPOINT_TARGET = (
    "Spread each checkpoint's writes over 90% of the interval instead of bursting them "
    "(PostgreSQL's own default since 14)."
)
WAL_BUFFERS = (
    "WAL kept in memory before it is written: 3% of shared_buffers, at most 16MB "
    "(one WAL segment); more does not help."
)
MIN_WAL = "WAL files kept for reuse instead of recycled, so bursts of writes do not create files."
MAX_WAL = (
    "WAL allowed between checkpoints: a larger value means fewer checkpoints and fewer "
    "full-page writes, at the cost of a longer crash recovery."
)
JIT = (
    "JIT compilation costs more than it saves on the short queries of web/OLTP work and "
    "causes CPU spikes; analytical (dw) workloads keep PostgreSQL's default."
)
AUTOVACUUM_WORKERS = (
    "More autovacuum workers so that many busy tables are vacuumed in parallel on a machine "
    "with this many CPUs (default 3)."
)
AUTOVACUUM_WORK_MEM = (
    "Caps each autovacuum worker at 2GB, so several workers cannot each take the large "
    "maintenance_work_mem at once (-1 would use maintenance_work_mem)."
)
IO_WORKERS = "Asynchronous I/O workers for io_method=worker: a quarter of the CPUs (3 to 32)."
WAL_LEVEL_MINIMAL = (
    "A desktop database needs no replication or point-in-time recovery; minimal WAL "
    "writes less. Do not use this on a server with replicas or WAL archiving."
)
NO_WAL_SENDERS = "Required by wal_level=minimal: no replication connections."


def max_connections(p: MachineProfile, conns: int) -> str:
    if p.max_connections:
        return (
            f"Kept at {conns}: work_mem below is sized for this many connections. Put a "
            "connection pooler (PgBouncer) in front rather than raising it."
        )
    return f"PGTune's default for a {p.workload} workload; work_mem below is sized for it."


def shared_buffers(p: MachineProfile, ram: str) -> str:
    share = "1/16" if p.workload == "desktop" else "25%"
    return (
        f"PostgreSQL's own page cache: {share} of {ram} RAM; the operating system's cache "
        "uses most of the rest (PostgreSQL's default of 128MB fits a laptop). Needs a restart."
    )


def ecs(p: MachineProfile, ram: str) -> str:
    share = "25%" if p.workload == "desktop" else "75%"
    return (
        f"A hint to the planner, not an allocation: about {share} of {ram} RAM is "
        "available for caching data (shared_buffers plus the OS cache), so index scans "
        "look as cheap as they are."
    )


def maintenance_work_mem(p: MachineProfile, ram: str) -> str:
    share = "1/8" if p.workload == "dw" else "1/16"
    return (
        f"Memory for VACUUM, CREATE INDEX and ALTER TABLE ADD FOREIGN KEY: {share} of {ram} "
        "RAM, at most 8GB. Faster index builds and vacuums during migrations."
    )


def statistics_target(p: MachineProfile) -> str:
    if p.workload == "dw":
        return "Larger ANALYZE samples (500) give better plans for the complex queries of a dw."
    return "PostgreSQL's default sample size for ANALYZE; enough for web and OLTP queries."


def random_page_cost(p: MachineProfile) -> str:
    if p.db_size == "less_ram":
        return "The data fits in RAM, so a random read costs about as much as a sequential one."
    if p.storage == "hdd":
        return "Spinning disks: a random read costs about 4 sequential reads (the default)."
    if p.workload == "dw":
        return (
            "dw data larger than RAM: PGTune keeps the default cost of 4 so large scans stay "
            "sequential."
        )
    return (
        f"On {p.storage} a random read costs little more than a sequential one, so the "
        "planner should use indexes more readily (default 4 assumes spinning disks)."
    )


def io_concurrency(p: MachineProfile) -> str:
    return (
        f"How many concurrent reads {p.storage} storage can serve for bitmap heap scans and "
        "prefetching (PGTune: hdd 2, ssd 200, san 300, nvme 1000)."
    )


def work_mem(p: MachineProfile, conns: int, workers: int) -> str:
    divisor = {"dw": " / 2", "mixed": " / 2", "desktop": " / 6"}.get(p.workload, "")
    size = {"less_ram": ", x1.3 as the data fits in RAM", "greater_ram": ", x0.9"}.get(
        p.db_size, ""
    )
    return (
        "Memory for each sort or hash in a query, which a query may use several times: "
        f"(RAM - shared_buffers) / ((max_connections {conns} + workers {workers}) x 3)"
        f"{divisor}{size}, at least 4MB."
    )


def huge_pages(p: MachineProfile) -> str:
    if p.os_type == "mac":
        return "macOS has no huge pages for PostgreSQL."
    return (
        "Huge pages cut the page-table overhead of a large shared_buffers; 'try' falls back "
        "to normal pages when the OS has none reserved (vm.nr_hugepages). Used from 2GB."
    )


def parallel(name: str, p: MachineProfile) -> str:
    texts = {
        "max_worker_processes": f"One background worker per CPU ({p.cpus}). Needs a restart.",
        "max_parallel_workers_per_gather": (
            "Workers one query node may use: half the CPUs"
            + ("" if p.workload == "dw" else ", at most 4 (more rarely helps web/OLTP)")
            + "."
        ),
        "max_parallel_workers": f"Parallel query workers in total: one per CPU ({p.cpus}).",
        "max_parallel_maintenance_workers": (
            "Workers for CREATE INDEX and VACUUM: half the CPUs, at most 4."
        ),
    }
    return texts[name]


def wal_compression(fell_back: bool) -> str:
    if fell_back:
        return (
            "Compress full-page images in WAL. schemaops differs from PGTune here: this "
            "server was built without lz4, so it proposes 'on' (pglz) instead of lz4."
        )
    return (
        "Compress full-page images in WAL: less WAL to write, archive and replicate for a "
        "little CPU (lz4 on 15+, needs a server built --with-lz4)."
    )


def io_method(fell_back: bool) -> str:
    if fell_back:
        return (
            "Asynchronous I/O through worker processes. schemaops differs from PGTune here: "
            "this server was built without liburing, so io_uring is not available."
        )
    return "Asynchronous I/O (PostgreSQL 18): io_uring on Linux (needs --with-liburing)."
