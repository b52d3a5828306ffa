"""``schemaops trace --compat`` from the CLI: the demo shop, its fixed version, the formats,
``check --trace``, and scratch databases left behind by a killed run."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support import PG, SAMPLE, run_cli, shop_env
from trace_support import database_exists, scratch_name

OLD_RELEASE = [("orders", "0001"), ("products", "0001"), ("customers", "0001")]


def _migrate_to_old_release(env: dict[str, str], cwd: Path = SAMPLE) -> None:
    """The target runs the old release: only the first migration of each app is applied."""
    for app, name in OLD_RELEASE:
        run = subprocess.run(
            [sys.executable, "manage.py", "migrate", app, name, "-v0"],
            cwd=cwd,
            env={**_base_env(), **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr


def _base_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


@pytest.mark.slow
def test_the_demo_shop_replay_shows_the_real_breaks(scratch_db):
    env = shop_env(scratch_db)
    _migrate_to_old_release(env)
    run = run_cli("trace", "--compat", "--format", "json", env=env)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    breaks = {(b["migration"], b["code"]): b for b in _findings(report)}
    status = breaks[("0002_order_status", "SO803")]
    assert status["message"].startswith("the old code (the release before these migrations)")
    assert 'null value in column "status"' in status["evidence"]["error"]
    assert status["evidence"]["statement"].startswith('INSERT INTO "orders_order"')
    legacy = breaks[("0005_remove_order_legacy_ref", "SO803")]
    assert 'column "legacy_ref" of relation "orders_order" does not exist' in legacy["message"]
    assert set(breaks) == {
        ("0002_order_status", "SO803"),
        ("0005_remove_order_legacy_ref", "SO803"),
    }
    assert [p["phase"] for p in report["phases"]] == ["old schema", "after pre-deploy"]
    assert not database_exists(scratch_name(run.stderr))


def _findings(report: dict) -> list[dict]:
    return report["findings"]


FIXED_0002 = """
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="order",
            name="status",
            field=models.CharField(default="new", db_default="new", max_length=20),
        ),
    ]
"""
FIXED_0005 = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("orders", "0004_fill_total_cents")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="order", name="legacy_ref")]
        ),
    ]
"""
CONTRACT_0007 = """
from django.db import migrations


class Migration(migrations.Migration):
    deploy_phase = "post"
    dependencies = [("orders", "0006_order_customer_created_idx")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE orders_order DROP COLUMN legacy_ref", migrations.RunSQL.noop
        ),
    ]
"""


@pytest.mark.slow
def test_the_fixed_demo_shop_replays_clean(scratch_db, tmp_path):
    fixed = tmp_path / "shop"
    shutil.copytree(SAMPLE, fixed, ignore=shutil.ignore_patterns("__pycache__"))
    migrations = fixed / "orders" / "migrations"
    (migrations / "0002_order_status.py").write_text(textwrap.dedent(FIXED_0002))
    (migrations / "0005_remove_order_legacy_ref.py").write_text(textwrap.dedent(FIXED_0005))
    (migrations / "0007_drop_legacy_ref.py").write_text(textwrap.dedent(CONTRACT_0007))
    env = shop_env(scratch_db)
    _migrate_to_old_release(env, fixed)
    run = run_cli("trace", "--compat", "--format", "markdown", "-q", cwd=fixed, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "### ✅ schemaops trace --compat" in run.stdout
    assert "| after post-deploy | orders.0007_drop_legacy_ref | new |" in run.stdout
    assert run.stdout.rstrip().endswith("0 break(s)")


def test_trace_compat_text_names_release_phase_statement_and_error(scratch_db):
    env = shop_env(scratch_db)
    _migrate_to_old_release(env)
    run = run_cli("trace", "--compat", "--from-database", "orders", "0005", "-q", env=env)
    assert run.returncode == 1
    assert "after pre-deploy (orders.0005_remove_order_legacy_ref)" in run.stdout
    assert "SO803 orders.Order (orders_order): the old code" in run.stdout
    assert 'error: column "legacy_ref" of relation "orders_order" does not exist' in run.stdout
    assert "statement: INSERT INTO" in run.stdout
    assert "blamed: orders.0005_remove_order_legacy_ref op 0" in run.stdout
    assert run.stderr.strip() == "schemaops: error: 1 break(s) in the replayed rollout (see above)"


@pytest.mark.slow
def test_check_trace_explains_the_breaks_with_the_static_findings(scratch_db):
    env = shop_env(scratch_db)
    _migrate_to_old_release(env)
    run = run_cli("check", "--trace", "--app", "orders", "--format", "json", env=env)
    assert run.returncode == 1, run.stderr
    findings = json.loads(run.stdout)["findings"]
    codes = {(f["migration"], f["code"]) for f in findings}
    assert ("0002_order_status", "SO107") in codes
    assert ("0005_remove_order_legacy_ref", "SO101") in codes
    # both breaks are explained by a rule: no SO803 of their own, no contradiction
    assert not any(f["code"] in ("SO803", "SO804") for f in findings)
    assert not any("[compat:" in f["message"] for f in findings)


KEEP_ALIVE = """
import sys, time
from schemaops.trace.scratch import ScratchDatabase
with ScratchDatabase(dict(host=sys.argv[1], port=sys.argv[2], user=sys.argv[3])) as s:
    print(s.name, flush=True)
    time.sleep(120)
"""


def test_a_scratch_database_left_by_a_killed_run_is_dropped_by_the_next_run():
    from schemaops.trace.scratch import sweep_orphans

    server = {k: PG[k] for k in ("host", "port", "user")}
    killed = _owner()
    name = killed.stdout.readline().strip()  # type: ignore[union-attr]
    alive = _owner()
    living = alive.stdout.readline().strip()  # type: ignore[union-attr]
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=30)
        assert database_exists(name)  # SIGKILL: no handler ran
        dropped = sweep_orphans(server)
        assert name in dropped and not database_exists(name)
        assert living not in dropped and database_exists(living)  # its owner still runs
    finally:
        alive.send_signal(signal.SIGTERM)
        alive.wait(timeout=30)
    assert not database_exists(living)  # SIGTERM: dropped by the owner itself


def _owner() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", KEEP_ALIVE, PG["host"], PG["port"], PG["user"]],
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_what_schemaops_fix_writes_replays_clean(scratch_db, tmp_path):
    """The remedies `schemaops fix` writes for the demo shop keep both releases working
    through every phase of the rollout (the shop as it ships breaks: see above)."""
    fixed = tmp_path / "shop"
    shutil.copytree(SAMPLE, fixed, ignore=shutil.ignore_patterns("__pycache__"))
    env = shop_env(scratch_db)
    _migrate_to_old_release(env, fixed)
    fix = run_cli("fix", cwd=fixed, env=env)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert "wrote" in fix.stdout + fix.stderr
    run = run_cli("trace", "--compat", "--format", "markdown", "-q", cwd=fixed, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "### ✅ schemaops trace --compat" in run.stdout
    assert run.stdout.rstrip().endswith("0 break(s)")
