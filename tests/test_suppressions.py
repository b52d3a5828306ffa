"""Suppression comments in real migration files, through the real CLI.

The fixture's 0002 migration drops ``ledger_account.legacy`` (SO101, an error).
Each test rewrites that file with a differently placed or worded comment.
"""

from fixtures.lintproj_kit import check, codes, project, write_migration

HEADER = """\
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

"""
NAME = "0002_remove_account_legacy"


def write(root, operations):
    write_migration(root, NAME, HEADER + operations)


def test_unsuppressed_finding_fails(tmp_path):
    rc, report, _ = check(project(tmp_path))
    assert rc == 1
    assert codes(report) == ["SO101"]


def test_comment_on_the_operation_line(tmp_path):
    root = project(tmp_path)
    write(
        root,
        """\
    operations = [
        migrations.RemoveField("account", "legacy"),  # schemaops: ignore[SO101] unused since v3
    ]
""",
    )
    rc, report, _ = check(root)
    assert (rc, codes(report)) == (0, [])
    rc, text, _ = check(root, fmt="text")
    assert "1 suppressed" in text


def test_comment_on_the_line_above_covers_only_that_operation(tmp_path):
    root = project(tmp_path)
    write(
        root,
        """\
    operations = [
        # schemaops: ignore[SO101] unused since v3
        migrations.RemoveField("account", "legacy"),
        migrations.RemoveField("account", "name"),
    ]
""",
    )
    rc, report, _ = check(root)
    assert rc == 1
    assert [(f["code"], f["operation"]) for f in report["findings"]] == [("SO101", 1)]
    assert report["findings"][0]["line"] == 10  # the second RemoveField


def test_comment_inside_a_multiline_operation(tmp_path):
    root = project(tmp_path)
    write(
        root,
        """\
    operations = [
        migrations.RemoveField(
            model_name="account",
            name="legacy",  # schemaops: ignore[SO101] unused since v3
        ),
    ]
""",
    )
    rc, report, _ = check(root)
    assert (rc, codes(report)) == (0, [])


def test_ignore_file_covers_every_operation(tmp_path):
    root = project(tmp_path)
    write(
        root,
        """\
    # schemaops: ignore-file[SO101] both columns are dead since v3
    operations = [
        migrations.RemoveField("account", "legacy"),
        migrations.RemoveField("account", "name"),
    ]
""",
    )
    rc, report, _ = check(root)
    assert (rc, codes(report)) == (0, [])


def test_missing_reason_does_not_count(tmp_path):
    root = project(tmp_path)
    write(
        root,
        """\
    operations = [
        migrations.RemoveField("account", "legacy"),  # schemaops: ignore[SO101]
    ]
""",
    )
    rc, report, _ = check(root)
    assert rc == 1
    assert codes(report) == ["SO101", "SO902"]
    audit = next(f for f in report["findings"] if f["code"] == "SO902")
    assert "gives no reason" in audit["message"]
    assert audit["line"] == 8  # the comment's own line


def test_rule_name_instead_of_code(tmp_path):
    root = project(tmp_path)
    write(
        root,
        """\
    operations = [
        # schemaops: ignore[drop-column] unused since v3
        migrations.RemoveField("account", "legacy"),
    ]
""",
    )
    rc, report, _ = check(root)
    assert (rc, codes(report)) == (0, [])


def test_other_rule_code_does_not_suppress(tmp_path):
    root = project(tmp_path)
    write(
        root,
        """\
    operations = [
        migrations.RemoveField("account", "legacy"),  # schemaops: ignore[SO201] not an index
    ]
""",
    )
    rc, report, _ = check(root)
    assert rc == 1
    assert codes(report) == ["SO101", "SO902"]


def test_findings_judged_after_the_walk_are_suppressed_too(tmp_path):
    # SO501 is decided on the final project state, then pointed back at this operation.
    root = project(tmp_path)
    payer = 'models.ForeignKey("ledger.account", models.CASCADE, null=True, db_index=False,'
    write(
        root,
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
    )
    path = root / "ledger" / "migrations" / f"{NAME}.py"
    path.write_text(path.read_text().replace("import migrations\n", "import migrations, models\n"))
    rc, report, _ = check(root)
    assert (rc, codes(report)) == (0, [])
    rc, text, _ = check(root, fmt="text")
    assert "1 suppressed" in text
    path.write_text(path.read_text().replace("# schemaops: ignore[SO501]", "# was:"))
    assert codes(check(root)[1]) == ["SO501"]
