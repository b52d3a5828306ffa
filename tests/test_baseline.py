"""Adopting schemaops on a legacy project: record today's findings, fail only on new ones."""

import json

from fixtures.lintproj_kit import check, codes, project, write_migration

NEW_MIGRATION = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_remove_account_legacy")]

    operations = [
        migrations.RemoveField("entry", "memo"),
    ]
"""


def test_write_baseline_then_check_with_it_passes(tmp_path):
    root = project(tmp_path)
    rc, _out, err = check(root, "--write-baseline", "baseline.json")
    assert rc == 0, err
    assert "wrote 1 finding(s) to baseline.json" in err
    recorded = json.loads((root / "baseline.json").read_text())
    assert recorded["version"] == 1
    assert [e["code"] for e in recorded["findings"].values()] == ["SO101"]

    rc, report, _ = check(root, "--baseline", "baseline.json")
    assert (rc, codes(report)) == (0, [])
    assert report["summary"]["baselined"] == 1


def test_new_finding_still_fails_with_a_baseline(tmp_path):
    root = project(tmp_path)
    assert check(root, "--write-baseline", "baseline.json")[0] == 0
    write_migration(root, "0003_remove_entry_memo", NEW_MIGRATION)
    rc, report, _ = check(root, "--baseline", "baseline.json")
    assert rc == 1
    assert [(f["code"], f["migration"]) for f in report["findings"]] == [
        ("SO101", "0003_remove_entry_memo")
    ]
    assert "ledger_entry.memo" in report["findings"][0]["message"]


def test_baseline_survives_edits_that_move_lines(tmp_path):
    root = project(tmp_path)
    assert check(root, "--write-baseline", "baseline.json")[0] == 0
    path = root / "ledger" / "migrations" / "0002_remove_account_legacy.py"
    path.write_text("# a comment that moves every line down\n\n" + path.read_text())
    rc, report, _ = check(root, "--baseline", "baseline.json")
    assert (rc, codes(report)) == (0, [])


def test_missing_baseline_file_is_a_usage_error(tmp_path):
    rc, _out, err = check(project(tmp_path), "--baseline", "nope.json")
    assert rc == 2
    assert "nope.json does not exist" in err and "Traceback" not in err
