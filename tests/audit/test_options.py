"""audit takes the options check takes: --ignore, --baseline/--write-baseline, --fail-on, -q."""

from __future__ import annotations

import json

from support import run_cli


def _audit(db, *args):
    dsn = "postgresql://{user}@{host}:{port}/{dbname}".format(**db.params)
    return run_cli("audit", "--dsn", dsn, "--format", "json", *args, cwd="/tmp")


def _codes(proc):
    return {f["code"] for f in json.loads(proc.stdout)["findings"]}


def test_ignore_baseline_fail_on_and_quiet(db, tmp_path):
    db.sql(
        "CREATE TABLE parent (id int PRIMARY KEY)",
        "CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent)",
        "INSERT INTO parent SELECT generate_series(1, 50)",
    )
    first = _audit(db)
    assert first.returncode in (0, 1), first.stderr
    found = _codes(first)
    assert found, "the planted schema gives findings"
    one = sorted(found)[0]
    ignored = _audit(db, "--ignore", one)
    assert one not in _codes(ignored)
    baseline = tmp_path / "audit-baseline.json"
    written = _audit(db, "--write-baseline", str(baseline))
    assert written.returncode == 0 and baseline.is_file()
    again = _audit(db, "--baseline", str(baseline), "--fail-on", "warning")
    assert again.returncode == 0, again.stdout
    doc = json.loads(again.stdout)
    total = len(json.loads(first.stdout)["findings"])
    assert doc["findings"] == [] and doc["summary"]["baselined"] == total
    never = _audit(db, "--fail-on", "never")
    assert never.returncode == 0
    assert "skipped" in first.stderr and "skipped" not in _audit(db, "-q").stderr


def test_unknown_ignore_and_bad_timeout_are_one_line(db):
    bad = _audit(db, "--ignore", "AU40")
    assert bad.returncode == 2 and "did you mean" in bad.stderr
    negative = _audit(db, "--timeout", "-1s")
    assert negative.returncode == 2 and "cannot be negative" in negative.stderr
    assert len(negative.stderr.strip().splitlines()) == 1
