"""``schemaops fix`` on a copy of the demo shop: dry run, scope, applied migrations, bad input."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import SAMPLE, create_database, drop_database, run_cli


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A copy of the demo shop and an empty database of its own (nothing applied)."""
    root = tmp_path / "shop"
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns("__pycache__"))
    name = f"schemaops_fix_{uuid.uuid4().hex[:8]}"
    create_database(name)
    try:
        yield root, {"SHOP_DB_NAME": name}
    finally:
        drop_database(name)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(root.glob("*/migrations/*.py"))
    }


def test_dry_run_prints_the_diff_and_writes_nothing(shop: tuple[Path, dict[str, str]]) -> None:
    root, env = shop
    before = _digest(root)
    proc = run_cli("fix", "--dry-run", cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "+++ " in proc.stdout and "--- /dev/null" in proc.stdout
    assert "+    atomic = False" in proc.stdout
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS product_category_idx" in proc.stdout
    assert '+    deploy_phase = "post"' in proc.stdout
    assert _digest(root) == before


def test_one_migration_is_rewritten_in_place_and_the_rest_left_alone(
    shop: tuple[Path, dict[str, str]],
) -> None:
    root, env = shop
    before = _digest(root)
    proc = run_cli("fix", "products", "0002", cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr
    after = _digest(root)
    changed = {k for k in after if before.get(k) != after[k]}
    assert changed == {
        "products/migrations/0002_product_category.py",
        "products/migrations/0002_product_category_1_keep.py",
    }
    again = run_cli("check", "products", "--format", "json", cwd=root, env=env)
    assert again.returncode == 0, again.stdout


def test_applied_migrations_are_never_rewritten(shop: tuple[Path, dict[str, str]]) -> None:
    root, env = shop
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=root,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    before = _digest(root)
    proc = run_cli("fix", cwd=root, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to fix" in proc.stderr
    assert _digest(root) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nosuchapp",), "unknown app 'nosuchapp'"),
        (("orders", "0099"), "0099"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    shop: tuple[Path, dict[str, str]], args: tuple[str, ...], message: str
) -> None:
    root, env = shop
    proc = run_cli("fix", *args, cwd=root, env=env)
    assert proc.returncode == 2
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


def test_a_rules_long_recipe_is_cut_to_what_a_report_shows() -> None:
    from schemaops.remedy.attach import capped
    from schemaops.remedy.writer import INLINE_LIMIT

    long = "\n".join(f"migrations.RunSQL('step {i}')," for i in range(2000))
    cut = capped(long)
    assert len(cut.splitlines()) == INLINE_LIMIT
    assert cut.endswith("# ... 1941 more line(s) not shown")
    assert capped("migrations.RunSQL('one'),") == "migrations.RunSQL('one'),"


def test_verify_checks_and_traces_what_was_written(shop: tuple[Path, dict[str, str]]) -> None:
    root, env = shop
    proc = run_cli("fix", "--verify", cwd=root, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "schemaops fix --verify: check clean, applied on a scratch database" in proc.stdout
    assert "no lock blocking writes held over 250 ms" in proc.stdout


def test_verify_quotes_a_failed_child_without_its_prefix() -> None:
    """A check or trace that fails under --verify is quoted after verify's own prefix
    without the child's "schemaops: error:" (the program's name once per line)."""
    from schemaops.remedy.verify import _child_error

    proc = run_cli("check", "no_such_app", cwd=SAMPLE)
    assert proc.returncode == 2 and proc.stderr.startswith("schemaops: error: ")
    quoted = _child_error(proc)
    assert "no_such_app" in quoted and not quoted.startswith("schemaops")


def test_the_lock_budget_counts_a_lock_until_its_transaction_ends() -> None:
    from schemaops.remedy.verify import blocking_holds

    def stmt(sql: str, ms: float, mode: str | None) -> dict[str, object]:
        locks = [{"relation": "t", "kind": "table", "mode": mode, "preexisting": True}]
        return {"sql": sql, "duration_ms": ms, "locks": locks if mode else []}

    statements = [stmt("ALTER TABLE t ...", 1, "AccessExclusiveLock"), stmt("UPDATE t", 300, None)]
    atomic = {"app": "a", "migration": "0002", "atomic": True, "statements": statements}
    assert len(blocking_holds({"migrations": [atomic]})) == 1  # held for 301 ms
    autocommit = {**atomic, "atomic": False}
    assert blocking_holds({"migrations": [autocommit]}) == []
    share_update = [stmt("CREATE INDEX CONCURRENTLY", 900, "ShareUpdateExclusiveLock")]
    assert blocking_holds({"migrations": [{**atomic, "statements": share_update}]}) == []
