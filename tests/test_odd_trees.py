"""Broken migration trees end in one line naming the migration and what is wrong, exit 2."""

from __future__ import annotations

import pytest
from support import run_cli
from tinyproj import migration_source, write_project

ORDER = 'migrations.CreateModel("Order", [("id", models.BigAutoField(primary_key=True))])'
AFTER_0001 = '("shop", "0001_initial")'

BROKEN = {
    "replaces itself": (
        {"0001_initial": migration_source(ORDER, extra='replaces = [("shop", "0001_initial")]')},
        "shop.0001_initial lists itself in replaces",
    ),
    "squash replaces itself": (
        {
            "0001_initial": migration_source(ORDER),
            "0002_squashed": migration_source(
                "",
                AFTER_0001,
                extra='replaces = [("shop", "0001_initial"), ("shop", "0002_squashed")]',
            ),
            "0003_next": migration_source("", '("shop", "0002_squashed")'),
        },
        "shop.0002_squashed lists itself in replaces",
    ),
    "circular": (
        {
            "0001_initial": migration_source(ORDER, '("shop", "0002_b")'),
            "0002_b": migration_source("", AFTER_0001),
        },
        "circular dependency between shop.",
    ),
    "missing dependency": (
        {"0001_initial": migration_source(ORDER, '("shop", "0000_nope")')},
        "shop.0001_initial dependencies reference nonexistent parent node ('shop', '0000_nope')",
    ),
    "missing model": (
        {
            "0001_initial": migration_source(
                'migrations.AddField("ghost", "x", models.IntegerField())'
            )
        },
        "shop.0001_initial operation 0 (AddField) refers to shop.ghost, which does not exist",
    ),
    "missing field": (
        {
            "0001_initial": migration_source(ORDER),
            "0002_b": migration_source('migrations.RemoveField("order", "nope")', AFTER_0001),
        },
        "shop.0002_b operation 0 (RemoveField) refers to 'nope', which does not exist",
    ),
    "import fails": (
        {"0001_initial": migration_source(ORDER, head="import no_such_module_here\n")},
        "0001_initial.py does not import: ModuleNotFoundError: No module named 'no_such_module",
    ),
    "syntax error": (
        {"0001_initial": "class Migration(:\n"},
        "0001_initial.py does not import: SyntaxError",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_tree_is_one_line_naming_the_migration(tmp_path, case):
    files, needle = BROKEN[case]
    root = write_project(tmp_path, files)
    proc = run_cli("check", cwd=root, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("schemaops: error: broken migration graph: ")
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "internal error" not in proc.stderr


def test_odd_runsql_is_a_finding_and_the_rest_is_still_checked(tmp_path):
    ops = "migrations.RunSQL(42), migrations.RunSQL([()]), " + ORDER.replace("Order", "Item")
    root = write_project(tmp_path, {"0001_initial": migration_source(ops)})
    proc = run_cli("check", "--format", "json", cwd=root, timeout=60)
    assert proc.returncode == 1, proc.stderr
    import json

    findings = json.loads(proc.stdout)["findings"]
    unparsable = sorted(f["operation"] for f in findings if f["code"] == "SO901")
    assert unparsable == [0, 1]
    assert not [f for f in findings if f["code"] == "SO904"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("check", "--database", "nope"), "unknown database alias 'nope' (DATABASES has: default)"),
        (("migrate", "--statement-timeout", "-1s"), "'-1s': a duration cannot be negative"),
        (("migrate", "--lock-timeout", "5 sec"), "unknown unit 'sec'"),
        (("migrate", "--retry-delay", "soon"), "'soon' is not a duration"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path, args, needle):
    root = write_project(tmp_path, {"0001_initial": migration_source(ORDER)}, port="1")
    proc = run_cli(*args, cwd=root, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_bad_timeout_in_pyproject_names_the_key(tmp_path):
    pyproject = '[tool.schemaops]\nsettings = "tinyproj_settings"\nlock-timeout = "-5s"\n'
    root = write_project(tmp_path, {"0001_initial": migration_source(ORDER)}, pyproject=pyproject)
    proc = run_cli("check", cwd=root, timeout=60)
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == "schemaops: error: lock-timeout: '-5s': a duration cannot be negative"
    )
