"""Suppression comments in real migration files, through the real CLI.

The fixture's 0002 migration drops ``ledger_account.legacy`` (SO101, an error).
Each test rewrites that file with a differently placed or worded comment.
"""

from pathlib import Path
from typing import Any

import pytest
from fixtures.lintproj_kit import check, codes, project, write_migration

HEADER = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

"""
NAME = "0002_remove_account_legacy"


def check_with(tmp_path: Path, operations: str, header: str = HEADER) -> tuple[Path, int, Any]:
    """A fresh fixture project whose 0002 holds ``operations``; its root and what
    ``schemaops check`` says of it (exit status, JSON report)."""
    root = project(tmp_path)
    write_migration(root, NAME, header + operations)
    rc, report, _ = check(root)
    return root, rc, report


# comments that silence the 0002's only finding: placement and wording
SUPPRESSING = {
    "on-the-operation-line": """\
    operations = [
        migrations.RemoveField("account", "legacy"),  # schemaops: ignore[SO101] unused since v3
    ]
""",
    "inside-a-multiline-operation": """\
    operations = [
        migrations.RemoveField(
            model_name="account",
            name="legacy",  # schemaops: ignore[SO101] unused since v3
        ),
    ]
""",
    "ignore-file-covers-every-operation": """\
    # schemaops: ignore-file[SO101] both columns are dead since v3
    operations = [
        migrations.RemoveField("account", "legacy"),
        migrations.RemoveField("account", "name"),
    ]
""",
    "rule-name-instead-of-code": """\
    operations = [
        # schemaops: ignore[drop-column] unused since v3
        migrations.RemoveField("account", "legacy"),
    ]
""",
}


def test_unsuppressed_finding_fails(tmp_path):
    rc, report, _ = check(project(tmp_path))
    assert rc == 1
    assert codes(report) == ["SO101"]


@pytest.mark.parametrize("operations", SUPPRESSING.values(), ids=SUPPRESSING)
def test_a_comment_with_a_reason_suppresses(tmp_path, operations):
    _, rc, report = check_with(tmp_path, operations)
    assert (rc, codes(report)) == (0, [])


def test_the_text_report_counts_the_suppressed(tmp_path):
    root, _, _ = check_with(tmp_path, SUPPRESSING["on-the-operation-line"])
    rc, text, _ = check(root, fmt="text")
    assert rc == 0 and "1 suppressed" in text


def test_comment_on_the_line_above_covers_only_that_operation(tmp_path):
    _, rc, report = check_with(
        tmp_path,
        """\
    operations = [
        # schemaops: ignore[SO101] unused since v3
        migrations.RemoveField("account", "legacy"),
        migrations.RemoveField("account", "name"),
    ]
""",
    )
    assert rc == 1
    assert [(f["code"], f["operation"]) for f in report["findings"]] == [("SO101", 1)]
    assert report["findings"][0]["line"] == 10  # the second RemoveField


def test_missing_reason_does_not_count(tmp_path):
    _, rc, report = check_with(
        tmp_path,
        """\
    operations = [
        migrations.RemoveField("account", "legacy"),  # schemaops: ignore[SO101]
    ]
""",
    )
    assert rc == 1
    assert codes(report) == ["SO101", "SO902"]
    audit = next(f for f in report["findings"] if f["code"] == "SO902")
    assert "gives no reason" in audit["message"]
    assert audit["line"] == 8  # the comment's own line


def test_other_rule_code_does_not_suppress(tmp_path):
    _, rc, report = check_with(
        tmp_path,
        """\
    operations = [
        migrations.RemoveField("account", "legacy"),  # schemaops: ignore[SO201] not an index
    ]
""",
    )
    assert rc == 1
    assert codes(report) == ["SO101", "SO902"]


def test_findings_judged_after_the_walk_are_suppressed_too(tmp_path):
    # SO501 is decided on the final project state, then pointed back at this operation.
    payer = 'models.ForeignKey("ledger.account", models.CASCADE, null=True, db_index=False,'
    root, rc, report = check_with(
        tmp_path,
        f"""\
    operations = [
        # schemaops: ignore[SO501] entries are never deleted, only archived
        migrations.AddField(
            "entry",
            "payer",
            {payer} db_constraint=False),
        ),
    ]
""",
        header=HEADER.replace("import migrations\n", "import migrations, models\n"),
    )
    assert (rc, codes(report)) == (0, [])
    rc, text, _ = check(root, fmt="text")
    assert "1 suppressed" in text
    path = root / "ledger" / "migrations" / f"{NAME}.py"
    path.write_text(path.read_text().replace("# schemaops: ignore[SO501]", "# was:"))
    assert codes(check(root)[1]) == ["SO501"]
