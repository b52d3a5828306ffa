"""``schemaops fix`` without a reachable database: only what is clearly unapplied (the
named migration, or the files added since --since REF), with one line saying so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from support import run_cli
from tinyproj import migration_source, write_project

ORDER = (
    'migrations.CreateModel("Order", [("id", models.BigAutoField(primary_key=True)), '
    '("n", models.IntegerField()), ("m", models.IntegerField())])'
)
INDEX_N = 'migrations.AddIndex("order", models.Index(fields=["n"], name="order_n_idx"))'
INDEX_M = 'migrations.AddIndex("order", models.Index(fields=["m"], name="order_m_idx"))'


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=project,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def offline(tmp_path: Path) -> Path:
    """0001 and 0002 (an unsafe index build) committed at the tag `deployed`; 0003 (another
    unsafe index build) added after it. The database's port answers nobody."""
    project = write_project(
        tmp_path,
        {
            "0001_initial": migration_source(ORDER),
            "0002_index_n": migration_source(INDEX_N, '("shop", "0001_initial")'),
        },
        port="1",
    )
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "deployed")
    _git(project, "tag", "deployed")
    (project / "shop" / "migrations" / "0003_index_m.py").write_text(
        migration_source(INDEX_M, '("shop", "0002_index_n")')
    )
    return project


def test_without_database_or_a_narrower_selection_fix_says_what_to_give(offline: Path) -> None:
    result = run_cli("fix", "--dry-run", cwd=offline)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "cannot read applied migrations" in line
    assert "schemaops fix APP MIGRATION" in line and "--since REF" in line
    assert "tiny-secret" not in result.stderr


def test_since_rewrites_only_the_files_added_since_the_ref(offline: Path) -> None:
    # 0002 is unsafe too, but it existed at `deployed`: it may be applied, so it is left
    (offline / "shop" / "migrations" / "0002_index_n.py").write_text(
        migration_source(INDEX_N, '("shop", "0001_initial")') + "# edited since\n"
    )
    result = run_cli("fix", "--since", "deployed", "--dry-run", cwd=offline)
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.endswith("assumed unapplied (added since deployed): shop.0003_index_m")
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS order_m_idx" in result.stdout
    assert "order_n_idx" not in result.stdout


def test_a_named_migration_is_fixed_offline_and_the_result_passes_check(offline: Path) -> None:
    result = run_cli("fix", "shop", "0002_index_n", cwd=offline)
    assert result.returncode == 0, result.stderr
    assert "assumed unapplied (named on the command line): shop.0002_index_n" in result.stderr
    assert "wrote" in result.stdout
    fixed = (offline / "shop" / "migrations" / "0002_index_n.py").read_text()
    assert "CONCURRENTLY" in fixed
    check = run_cli("check", "shop", "0002_index_n", "--format", "json", cwd=offline)
    assert check.returncode == 0, check.stdout + check.stderr
    untouched = run_cli("check", "shop", "0003_index_m", cwd=offline)
    assert untouched.returncode == 1  # not named, so not rewritten


def test_quiet_drops_the_nothing_to_fix_note_but_not_what_was_assumed(offline: Path) -> None:
    loud = run_cli("fix", "shop", "0001_initial", "--dry-run", cwd=offline)
    quiet = run_cli("fix", "shop", "0001_initial", "--dry-run", "-q", cwd=offline)
    assert loud.returncode == quiet.returncode == 0
    assert "nothing to fix" in loud.stderr and "nothing to fix" not in quiet.stderr
    assert "assumed unapplied (named on the command line): shop.0001_initial" in quiet.stderr
