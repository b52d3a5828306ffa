"""SO902 on real migration files (suppressions live in comments, so these need files)."""

from fixtures.lintproj_kit import check, codes, project, write_migration

TEMPLATE = """\
{file_comment}
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        migrations.RemoveField("account", "legacy"),  # {comment}
    ]
"""


def lint_with(tmp_path, comment, *args, file_comment=""):
    root = project(tmp_path)
    text = TEMPLATE.format(comment=comment, file_comment=file_comment)
    write_migration(root, "0002_remove_account_legacy", text)
    return check(root, *args)


def audits(report):
    return [f for f in report["findings"] if f["code"] == "SO902"]


def test_suppression_that_silenced_nothing_fires(tmp_path):
    _, report, _ = lint_with(tmp_path, "schemaops: ignore[SO201] tiny table")
    [audit] = audits(report)
    assert audit["severity"] == "warning"
    assert "suppression of SO201 on line 8 suppressed nothing" in audit["message"]
    assert audit["path"] == "ledger/migrations/0002_remove_account_legacy.py"
    assert (audit["line"], audit["operation"]) == (8, 0)
    assert "SO101" in codes(report)  # the real problem is still reported


def test_unknown_code_fires(tmp_path):
    _, report, _ = lint_with(tmp_path, "schemaops: ignore[SO1O1] typo in the code")
    [audit] = audits(report)
    assert "unknown rule(s) SO1O1" in audit["message"]


def test_used_suppression_is_safe(tmp_path):
    rc, report, _ = lint_with(tmp_path, "schemaops: ignore[SO101] dead since v3")
    assert (rc, codes(report)) == (0, [])


def test_suppression_of_a_rule_not_enabled_is_left_alone(tmp_path):
    _, report, _ = lint_with(
        tmp_path, "schemaops: ignore[SO201] tiny table", "--select", "SO101", "--select", "SO902"
    )
    assert codes(report) == ["SO101"]


def test_ignore_file_of_so902_waives_the_audit(tmp_path):
    _rc, report, _ = lint_with(
        tmp_path,
        "schemaops: ignore[SO201] kept for the next change",
        file_comment="# schemaops: ignore-file[SO902] comments kept on purpose",
    )
    assert codes(report) == ["SO101"]
