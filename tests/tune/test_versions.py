"""tune never proposes a setting (or value) the target PostgreSQL version does not know."""

from __future__ import annotations

import itertools

import pytest
from support import admin_connection, run_cli

from schemaops.tune.formulas import _BUILDERS, SINCE, propose
from schemaops.tune.inputs import MachineProfile
from schemaops.tune.local_version import from_clusters, from_pg_config

GB = 1024 * 1024


def profiles(version: int):
    for workload, os_type, cpus in itertools.product(
        ("web", "oltp", "dw", "desktop", "mixed"), ("linux", "windows", "mac"), (2, 16)
    ):
        yield MachineProfile(
            ram_kb=64 * GB, cpus=cpus, workload=workload, pg_version=version, os_type=os_type
        )


def test_every_setting_a_formula_can_propose_says_which_version_brought_it():
    names = {p.name for b in _BUILDERS for prof in profiles(18) for p in b(prof)}
    assert names <= set(SINCE), f"add to SINCE: {sorted(names - set(SINCE))}"


def test_the_local_server_knows_every_setting_and_value_proposed_for_its_version():
    with admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT current_setting('server_version_num')::int / 10000")
        version = cur.fetchone()[0]
        cur.execute("SELECT name, enumvals FROM pg_settings")
        known = {name: enumvals for name, enumvals in cur.fetchall()}
    for prof in profiles(version):
        for name, proposal in propose(prof).items():
            assert name in known, f"PostgreSQL {version} has no setting {name}"
            if known[name] is not None:
                assert str(proposal.value) in known[name], (name, proposal.value)


@pytest.mark.parametrize(
    ("version", "absent"),
    [
        (10, {"jit", "max_parallel_maintenance_workers", "io_method", "io_workers"}),
        (15, {"io_method", "io_workers"}),
        (17, {"io_method", "io_workers"}),
    ],
)
def test_settings_newer_than_the_target_are_left_out(version, absent):
    for prof in profiles(version):
        proposed = propose(prof)
        assert not absent & set(proposed)
        if version < 15 and "wal_compression" in proposed:
            assert proposed["wal_compression"].value == "on"


def test_local_version_is_read_from_clusters_and_pg_config():
    listing = "15  main 5432 online postgres /var/lib/postgresql/15/main log\n"
    assert from_clusters(listing) == {15}
    assert from_clusters(listing + "16 other 5433 down postgres /x log\n") == {15, 16}
    assert from_pg_config("PostgreSQL 15.20 (Debian 15.20-0+deb12u1)") == 15
    assert from_pg_config("nonsense") is None


def test_offline_takes_the_version_of_the_local_installation(tmp_path):
    result = run_cli("tune", "--offline", "--memory", "8GB", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    import json

    payload = json.loads(result.stdout)
    assert payload["inputs"]["pg_version"]["value"] == 15
    assert "pg_lsclusters" in payload["inputs"]["pg_version"]["source"]
    assert not {"io_method", "io_workers"} & {row["name"] for row in payload["settings"]}


def test_offline_without_any_installation_requires_pg_version(tmp_path):
    env = {"PATH": str(tmp_path)}  # no pg_lsclusters, no pg_config
    result = run_cli("tune", "--offline", "--memory", "8GB", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "schemaops: error: which PostgreSQL version are the settings for? no local PostgreSQL "
        "installation found (pg_lsclusters, pg_config); give --pg-version"
    )
    given = run_cli(
        "tune", "--offline", "--memory", "8GB", "--pg-version", "18", cwd=tmp_path, env=env
    )
    assert given.returncode == 0 and "io_method" in given.stdout


def test_a_configured_project_whose_server_is_down_is_exit_2():
    # sample_project's pyproject.toml names the settings; nothing on the command line
    result = run_cli("tune", "--memory", "8GB", env={"SHOP_DB_PORT": "1"})
    assert result.returncode == 2
    assert "cannot connect to PostgreSQL" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
