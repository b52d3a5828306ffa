"""Sizes in units people read: 17.7GB next to PostgreSQL's exact 18512844kB."""

from __future__ import annotations

from support import run_cli

from schemaops.audit.settings import at_default
from schemaops.tune.formulas import propose
from schemaops.tune.inputs import MachineProfile, readable


def test_readable_turns_odd_kilobytes_into_gigabytes():
    assert readable("18512844kB") == "17.7GB"
    assert readable("1542737kB") == "1.5GB"
    assert readable("20164kB") == "19.7MB"
    assert readable("512kB") == "512kB"
    assert readable("2GB") == "2GB" and readable("0.9") == "0.9"


def test_text_output_shows_odd_sizes_in_readable_units_and_keeps_the_exact_value():
    result = run_cli("tune", "--offline", "--memory", "23.5GB", "--cpus", "2", "--pg-version", "15")
    assert result.returncode == 0, result.stderr
    assert "+ work_mem = 29617kB (about 28.9MB)" in result.stdout
    conf = run_cli(
        "tune", "--offline", "--memory", "23.5GB", "--cpus", "2", "--pg-version", "15",
        "--format", "conf",
    )  # fmt: skip
    assert "work_mem = 29617kB" in conf.stdout.splitlines()


def test_audit_messages_read_in_gigabytes():
    proposals = propose(MachineProfile(ram_kb=24683772, cpus=4, pg_version=15))
    row = {
        "source": "default", "display": "4GB", "setting": "524288", "unit": "8kB",
        "context": "user", "name": "effective_cache_size", "vartype": "integer",
        "pending_restart": False,
    }  # fmt: skip
    hits = list(at_default({"effective_cache_size": proposals["effective_cache_size"]}, {
        "effective_cache_size": row}))  # fmt: skip
    assert "tune proposes 17.7GB:" in hits[0].message
    assert hits[0].evidence["proposed"] == "18512829kB"
