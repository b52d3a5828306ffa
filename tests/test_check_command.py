"""`schemaops check` end to end: the real console entry point on real projects."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from support import FINDING_KEYS, ROOT, SAMPLE, run_cli

FIXTURES = ROOT / "tests" / "fixtures"


def _json(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout)


def test_demo_shop_is_blocked_with_the_contract_json():
    proc = run_cli("check", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    data = _json(proc)
    assert data["version"] == 1
    assert set(data["summary"]) >= {"migrations", "errors", "warnings"}
    assert data["summary"]["migrations"] == 11  # the shop's own apps only, not Django's
    for finding in data["findings"]:
        assert set(finding) == FINDING_KEYS | {"group", "remedy"}  # keys are only added
        assert finding["severity"] in {"error", "warning", "info"}
        assert finding["path"].endswith(".py") and finding["line"] >= 1
    by_code = {(f["code"], f["migration"]) for f in data["findings"]}
    assert ("SO101", "0005_remove_order_legacy_ref") in by_code
    assert ("SO201", "0002_product_category") in by_code
    # the safe migrations stay quiet
    quiet = {"0002_customer_phone", "0003_product_name_idx", "0006_order_customer_created_idx"}
    assert not [f for f in data["findings"] if f["migration"] in quiet and f["severity"] == "error"]


def test_text_output_points_at_file_and_line_with_recipe():
    proc = run_cli("check", "products", "0002")
    assert proc.returncode == 1
    assert "products/migrations/0002_product_category.py:14" in proc.stdout
    assert "CREATE INDEX CONCURRENTLY" in proc.stdout
    assert "`schemaops fix products 0002_product_category` writes" in proc.stdout
    assert "migrations: 1" in proc.stdout


def test_single_safe_migration_exits_zero():
    proc = run_cli("check", "customers", "0002_customer_phone", "--format", "json")
    assert proc.returncode == 0, proc.stdout
    assert _json(proc)["summary"]["errors"] == 0


def test_app_filter_and_ignore():
    proc = run_cli("check", "--app", "products", "--format", "json")
    found = {f["code"] for f in _json(proc)["findings"]}
    assert all(f["app"] == "products" for f in _json(proc)["findings"])
    errors = {f["code"] for f in _json(proc)["findings"] if f["severity"] == "error"}
    assert proc.returncode == 1 and "SO201" in found
    args = [arg for code in sorted(errors) for arg in ("--ignore", code)]
    quiet = run_cli("check", "--app", "products", *args, "--format", "json")
    assert quiet.returncode == 0, quiet.stdout
    assert not {f["code"] for f in _json(quiet)["findings"]} & errors


@pytest.mark.parametrize(
    "args, needle",
    [
        (("check", "--settings", "no.such.settings"), "cannot import settings module"),
        (("check", "--app", "nosuchapp"), "unknown app 'nosuchapp'"),
        (("check", "orders", "9999"), "does not exist"),
        (("check", "--select", "SO999"), "unknown rule"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, needle):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_broken_graph_is_exit_2_and_works_offline_without_leaking_password():
    proc = run_cli(
        "check",
        "--settings",
        "brokenproj.settings",
        "--pythonpath",
        str(FIXTURES / "brokenproj"),
        cwd=FIXTURES / "brokenproj",
    )
    assert proc.returncode == 2
    assert "broken migration graph" in proc.stderr and "0000_missing" in proc.stderr
    assert "s3cret-pw" not in proc.stderr + proc.stdout


def test_unreachable_database_is_exit_2_without_password(tmp_path):
    proc = run_cli(
        "check",
        "--database",
        "default",
        env={"SHOP_DB_PORT": "1", "SHOP_DB_PASSWORD": "hunter2-secret"},
    )
    assert proc.returncode == 2
    assert "hunter2-secret" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1


def test_offline_check_needs_no_server():
    proc = run_cli("check", "--format", "json", env={"SHOP_DB_PORT": "1"})
    assert proc.returncode == 1
    assert _json(proc)["summary"]["migrations"] == 11


def test_unapplied_uses_the_database(shop_db):
    proc = run_cli("check", "--unapplied", "--format", "json", env={"SHOP_DB_NAME": shop_db})
    assert proc.returncode == 0, proc.stderr
    assert _json(proc)["summary"]["migrations"] == 0


def test_since_lints_added_and_edited_files(tmp_path):
    project = tmp_path / "shop"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=project, check=True)
    subprocess.run([*git, "add", "."], cwd=project, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=project, check=True)
    edited = project / "customers" / "migrations" / "0002_customer_phone.py"
    edited.write_text(edited.read_text() + "\n# edited\n")
    proc = run_cli("check", "--since", "HEAD", "--format", "json", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert _json(proc)["summary"]["migrations"] == 1
    bad = run_cli("check", "--since", "no-such-ref", cwd=project)
    assert bad.returncode == 2 and "no-such-ref" in bad.stderr


def test_sql_flag_shows_generated_sql_offline():
    proc = run_cli("check", "products", "0002", "--sql")
    assert 'CREATE INDEX "product_category_idx" ON "products_product" ("category")' in proc.stdout
    assert 'ALTER TABLE "products_product" ADD COLUMN "category" varchar(64) NULL' in proc.stdout


@pytest.mark.parametrize("fmt", ["github", "sarif", "markdown"])
def test_other_formats_render(fmt):
    proc = run_cli("check", "--format", fmt)
    assert proc.returncode == 1
    assert "SO101" in proc.stdout


def test_since_finds_untracked_migrations_when_the_project_is_a_subfolder(tmp_path):
    """manage.py below the repository's top, run from the project or from deeper still."""
    repo = tmp_path / "repo"
    project = repo / "services" / "shop"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "README").write_text("a monorepo\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    migrations_dir = project / "customers" / "migrations"
    latest = sorted(p.stem for p in migrations_dir.glob("0*.py"))[-1]
    (migrations_dir / "0099_untracked.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('customers', '{latest}')]\n"
        "    operations = [migrations.RunSQL('SELECT 1', reverse_sql='SELECT 1')]\n"
    )
    for cwd in (project, project / "customers"):
        args = ("check", "--since", "HEAD", "--format", "json")
        if cwd != project:
            args = (*args, "--pythonpath", str(project))
        proc = run_cli(*args, cwd=cwd)
        assert proc.returncode == 0, proc.stderr
        report = _json(proc)
        assert report["summary"]["migrations"] == 1, (cwd, report)
