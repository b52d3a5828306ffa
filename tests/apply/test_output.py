"""migrate's output: a short --plan (details with -v), --format json, -q, --noinput."""

from __future__ import annotations

import json

from migrate_support import LockHolder, migrate


def test_plan_is_one_line_per_migration_and_details_come_with_verbose(scratch_db):
    short = migrate(scratch_db, "--plan")
    assert short.returncode == 0, short.stderr
    assert "safe recipe" not in short.stdout
    refused = next(line for line in short.stdout.splitlines() if "orders.0005" in line)
    assert "REFUSED (error findings)" in refused and "[SO101" in refused
    assert "refused" in short.stdout.splitlines()[-1] and "--verbose" in short.stdout
    full = migrate(scratch_db, "--plan", "--verbose")
    assert "safe recipe" in full.stdout and len(full.stdout) > 3 * len(short.stdout)


def test_plan_as_json(scratch_db):
    run = migrate(scratch_db, "--plan", "--format", "json", "--phase", "pre")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["version"] == 1 and doc["phase"] == "pre"
    by_name = {item["migration"]: item for item in doc["plan"]}
    assert by_name["customers.0001_initial"]["refused"] is False
    assert any(item["refused"] and item["findings"] for item in doc["plan"])


def test_json_names_the_blockers_and_quiet_prints_no_progress(scratch_db, holders):
    first = migrate(scratch_db, "customers", "0001", "-q", "--noinput")
    assert first.returncode == 0, first.stderr
    assert "→" not in first.stderr and "✓" not in first.stderr
    holder = LockHolder(scratch_db, "customers_customer", "ACCESS SHARE")
    holders.append(holder)
    with holder.conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    run = migrate(
        scratch_db, "customers", "0002", "--format", "json", "--lock-timeout", "200ms",
        "--retries", "1", "--retry-delay", "10ms",
    )  # fmt: skip
    assert run.returncode == 1
    doc = json.loads(run.stdout)
    assert doc["applied"] == [] and "lock timeout" in doc["error"]
    (retry,) = doc["retries"]
    assert retry["migration"] == "customers.0002_customer_phone"
    assert [b["pid"] for b in retry["blockers"]] == [pid]
    assert retry["blockers"][0]["state"] == "idle in transaction"
