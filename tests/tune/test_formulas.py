"""PGTune's worked examples (computed with its web form's formulas) as a golden table."""

from __future__ import annotations

import pytest

from schemaops.errors import ConfigError
from schemaops.tune.formulas import Proposal, propose
from schemaops.tune.inputs import MachineProfile, format_memory, parse_memory

A = dict(ram="8GB", cpus=4, max_connections=100, workload="web", storage="ssd", pg_version=15)
B = dict(ram="64GB", cpus=16, max_connections=None, workload="oltp", storage="nvme", pg_version=17)
C = dict(ram="32GB", cpus=8, max_connections=40, workload="dw", storage="hdd", pg_version=16)
D = dict(ram="4GB", cpus=2, max_connections=None, workload="desktop", storage="ssd", pg_version=15)
E = dict(ram="128GB", cpus=32, max_connections=200, workload="mixed", storage="san", pg_version=18)

GOLDEN = {
    "A": (
        A,
        {
            "max_connections": "100",
            "shared_buffers": "2GB",
            "effective_cache_size": "6GB",
            "maintenance_work_mem": "512MB",
            "checkpoint_completion_target": "0.9",
            "wal_buffers": "16MB",
            "default_statistics_target": "100",
            "random_page_cost": "1.1",
            "effective_io_concurrency": "200",
            "work_mem": "20164kB",
            "huge_pages": "try",
            "min_wal_size": "1GB",
            "max_wal_size": "4GB",
            "max_worker_processes": "4",
            "max_parallel_workers_per_gather": "2",
            "max_parallel_workers": "4",
            "max_parallel_maintenance_workers": "2",
            "jit": "off",
            "wal_compression": "lz4",
        },
    ),
    "B": (
        B,
        {
            "max_connections": "300",
            "shared_buffers": "16GB",
            "effective_cache_size": "48GB",
            "maintenance_work_mem": "4GB",
            "checkpoint_completion_target": "0.9",
            "wal_buffers": "16MB",
            "default_statistics_target": "100",
            "random_page_cost": "1.1",
            "effective_io_concurrency": "1000",
            "work_mem": "53092kB",
            "huge_pages": "try",
            "min_wal_size": "2GB",
            "max_wal_size": "8GB",
            "max_worker_processes": "16",
            "max_parallel_workers_per_gather": "4",
            "max_parallel_workers": "16",
            "max_parallel_maintenance_workers": "4",
            "jit": "off",
            "wal_compression": "lz4",
            "autovacuum_max_workers": "4",
            "autovacuum_work_mem": "2GB",
        },
    ),
    "C": (
        C,
        {
            "max_connections": "40",
            "shared_buffers": "8GB",
            "effective_cache_size": "24GB",
            "maintenance_work_mem": "4GB",
            "checkpoint_completion_target": "0.9",
            "wal_buffers": "16MB",
            "default_statistics_target": "500",
            "random_page_cost": "4",
            "effective_io_concurrency": "2",
            "work_mem": "87381kB",
            "huge_pages": "try",
            "min_wal_size": "4GB",
            "max_wal_size": "16GB",
            "max_worker_processes": "8",
            "max_parallel_workers_per_gather": "4",
            "max_parallel_workers": "8",
            "max_parallel_maintenance_workers": "4",
            "wal_compression": "lz4",
            "autovacuum_work_mem": "2GB",
        },
    ),
    "D": (
        D,
        {
            "max_connections": "20",
            "shared_buffers": "256MB",
            "effective_cache_size": "1GB",
            "maintenance_work_mem": "256MB",
            "checkpoint_completion_target": "0.9",
            "wal_buffers": "7864kB",
            "default_statistics_target": "100",
            "random_page_cost": "1.1",
            "effective_io_concurrency": "200",
            "work_mem": "7801kB",
            "huge_pages": "off",
            "min_wal_size": "100MB",
            "max_wal_size": "2GB",
            "wal_compression": "lz4",
            "wal_level": "minimal",
            "max_wal_senders": "0",
        },
    ),
    "E": (
        E,
        {
            "max_connections": "200",
            "shared_buffers": "32GB",
            "effective_cache_size": "96GB",
            "maintenance_work_mem": "8GB",
            "checkpoint_completion_target": "0.9",
            "wal_buffers": "16MB",
            "default_statistics_target": "100",
            "random_page_cost": "1.1",
            "effective_io_concurrency": "300",
            "work_mem": "72315kB",
            "huge_pages": "try",
            "min_wal_size": "1GB",
            "max_wal_size": "4GB",
            "max_worker_processes": "32",
            "max_parallel_workers_per_gather": "4",
            "max_parallel_workers": "32",
            "max_parallel_maintenance_workers": "4",
            "jit": "off",
            "wal_compression": "lz4",
            "autovacuum_max_workers": "5",
            "autovacuum_work_mem": "2GB",
            "io_method": "io_uring",
        },
    ),
}


def profile(ram: str, **kwargs: object) -> MachineProfile:
    return MachineProfile(ram_kb=parse_memory(ram), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("example", sorted(GOLDEN))
def test_worked_example_matches_pgtune_exactly(example: str) -> None:
    inputs, expected = GOLDEN[example]
    proposals = propose(profile(**inputs))  # type: ignore[arg-type]
    assert {name: p.setting for name, p in proposals.items()} == expected


@pytest.mark.parametrize(
    ("db_size", "work_mem", "random_page_cost"),
    [
        ("less_ram", "26213kB", "1.1"),
        ("mid_ram", "20164kB", "1.1"),
        ("greater_ram", "18147kB", "1.1"),
    ],
)
def test_db_size_scales_work_mem(db_size: str, work_mem: str, random_page_cost: str) -> None:
    proposals = propose(profile(**A, db_size=db_size))  # type: ignore[arg-type]
    assert proposals["work_mem"].setting == work_mem
    assert proposals["random_page_cost"].setting == random_page_cost


def test_data_fitting_in_ram_overrides_hdd_and_dw_page_cost() -> None:
    assert propose(profile(**C, db_size="less_ram"))["random_page_cost"].value == 1.1  # type: ignore[arg-type]
    dw_ssd = {**C, "storage": "ssd"}
    assert propose(profile(**dw_ssd))["random_page_cost"].value == 4  # type: ignore[arg-type]


def test_unknown_cpus_uses_default_eight_workers_and_no_parallel_settings() -> None:
    proposals = propose(profile(**{**A, "cpus": None}))  # type: ignore[arg-type]
    # (8GB - 2GB) / ((100 + 8) * 3) = 19418.07
    assert proposals["work_mem"].value == 19418
    assert "max_worker_processes" not in proposals


def test_work_mem_floor_is_4mb() -> None:
    tiny = propose(profile("1GB", max_connections=5000, workload="web"))
    assert tiny["work_mem"].setting == "4MB"


def test_windows_caps_up_to_17() -> None:
    win = propose(profile(**{**E, "pg_version": 17}, os_type="windows"))  # type: ignore[arg-type]
    assert win["maintenance_work_mem"].setting == "2047MB"
    # PGTune compares the capped maintenance_work_mem with 2GB, so no autovacuum_work_mem
    assert "autovacuum_work_mem" not in win
    assert "io_method" not in win  # 18+ only
    assert "effective_io_concurrency" not in win  # linux only


def test_pg18_worker_io_method_off_linux_gets_io_workers() -> None:
    mac = propose(profile("64GB", cpus=32, workload="web", pg_version=18, os_type="mac"))
    assert mac["io_method"].value == "worker"
    assert mac["io_workers"].value == 8
    assert mac["huge_pages"].value == "off"


def test_server_without_lz4_gets_pglz_and_says_it_differs() -> None:
    no_lz4 = profile(**A, available={"wal_compression": frozenset({"pglz", "on", "off"})})  # type: ignore[arg-type]
    proposal = propose(no_lz4)["wal_compression"]
    assert proposal.value == "on"
    assert "differs from PGTune" in proposal.why


def test_every_proposal_explains_itself() -> None:
    for inputs, _ in GOLDEN.values():
        for proposal in propose(profile(**inputs)).values():  # type: ignore[arg-type]
            assert isinstance(proposal, Proposal)
            assert len(proposal.why) > 30, proposal.name


@pytest.mark.parametrize(
    ("text", "kb"), [("8GB", 8388608), ("512mb", 524288), ("16g", 16777216), ("1.5TB", 1610612736)]
)
def test_parse_memory(text: str, kb: int) -> None:
    assert parse_memory(text) == kb


@pytest.mark.parametrize("bad", ["8", "lots", "8XB", ""])
def test_parse_memory_rejects_garbage(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_memory(bad)


def test_format_memory_uses_largest_exact_unit() -> None:
    assert [format_memory(v) for v in (2097152, 524288, 7864)] == ["2GB", "512MB", "7864kB"]


@pytest.mark.parametrize(
    "bad", [{"storage": "floppy"}, {"workload": "batch"}, {"cpus": 0}, {"pg_version": 9}]
)
def test_profile_rejects_bad_input(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        profile(**{**A, **bad})  # type: ignore[arg-type]


def test_warnings_follow_pgtune_and_g001() -> None:
    from schemaops.tune.formulas import warnings

    # A: 2GB + 2*100*20164kB + 3*512MB = 7.3GB of 8GB, above G001's 90%
    assert [note.split(":")[0] for note in warnings(profile(**A))] == [
        "Worst case if every connection used work_mem twice at once"
    ]
    big_dw = warnings(profile("128GB", cpus=8, workload="dw", storage="ssd"))
    assert any("very high memory" in note for note in big_dw)
    assert any("random_page_cost left at 4" in note for note in big_dw)
    assert warnings(profile(**C, db_size="less_ram")) == []  # C: 8GB + 2*40*87381kB + 3*2GB
