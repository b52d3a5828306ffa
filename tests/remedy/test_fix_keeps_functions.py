"""``schemaops fix`` keeps what a migration's operations take from the migration module itself.

A migration the planner rewrites often also holds a ``RunPython`` whose
functions are defined at the top of the same file, a custom operation class, or
a field default defined there. Django's writer names them by the module
(``c_run.migrations.0002_change.forwards``: no import can name it, and the file is
being replaced); the files ``fix`` writes must carry copies and still apply.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from proof_project import SETTINGS, initial_migration, models_py, with_backfill_app
from proof_support import run, schemaops
from support import PG, create_database, drop_database

ADD_INDEX = 'migrations.AddIndex("item", models.Index(fields=["name"], name="{app}_name_idx"))'

HEADER = """import itertools

from django.db import migrations, models
from django.db.migrations.operations.base import Operation

"""

# app -> (module top, operations); each 0002 also has an AddIndex the planner remedies
CASES: dict[str, tuple[str, str]] = {
    "run": (
        """
def forwards(apps, schema_editor):
    Parent = apps.get_model("{app}", "Parent")
    Parent.objects.create(title="made by forwards")


def backwards(apps, schema_editor):
    apps.get_model("{app}", "Parent").objects.filter(title="made by forwards").delete()
""",
        "migrations.RunPython(forwards, backwards)",
    ),
    "helper": (
        """
PREFIX = "p-"
UNUSED = object()  # not needed by anything written: not copied


def _title(n):
    return PREFIX + str(next(itertools.count(n)))


def forwards(apps, schema_editor):
    Parent = apps.get_model("{app}", "Parent")
    Parent.objects.bulk_create([Parent(title=_title(n)) for n in range(3)])
""",
        "migrations.RunPython(forwards, migrations.RunPython.noop)",
    ),
    "op": (
        '''
TITLE = "made by the operation"


class AddParentRow(Operation):
    """A project's own operation: inserts one row."""

    reversible = True

    def __init__(self, title=TITLE):
        self.title = title

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(
            "INSERT INTO {app}_parent (title) VALUES (%s)", [self.title]
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute("DELETE FROM {app}_parent WHERE title = %s", [self.title])

    def describe(self):
        return "Add one parent row"
''',
        "AddParentRow()",
    ),
    "default": (
        """
def make_token():
    return "t-" + "x" * 8


def check_token(value):
    if not value.startswith("t-"):
        raise ValueError(value)
""",
        'migrations.AddField("extra", "token", models.CharField(max_length=20, '
        "default=make_token, validators=[check_token]))",
    ),
}

CHANGE = """{header}{top}

class Migration(migrations.Migration):
    dependencies = [("{app}", "0001_initial")]
    operations = [
        {operation},
        {add_index},
    ]
"""


def _write(root: Path, cases: dict[str, tuple[str, str]], imported: bool) -> list[str]:
    apps = [f"k_{case}" for case in cases] + (["k_imported"] if imported else [])
    (root / "proofproj").mkdir()
    (root / "proofproj" / "__init__.py").write_text("")
    (root / "proofproj" / "settings.py").write_text(SETTINGS.format(apps=apps))
    (root / "pyproject.toml").write_text(
        '[tool.schemaops]\nsettings = "proofproj.settings"\nassume-timeouts = true\n'
    )
    tops = {f"k_{case}": case_ for case, case_ in cases.items()}
    if imported:  # the function lives in the app: the import stays an import
        tops["k_imported"] = (
            "\nfrom k_imported.data import backwards, forwards\n",
            CASES["run"][1],
        )
    for app, (top, operation) in tops.items():
        folder = root / app / "migrations"
        folder.mkdir(parents=True)
        (root / app / "__init__.py").write_text("")
        (folder / "__init__.py").write_text("")
        (folder / "0001_initial.py").write_text(initial_migration(app))
        code = CHANGE.format(
            header=HEADER,
            top=top.replace("{app}", app),
            app=app,
            operation=operation,
            add_index=ADD_INDEX.format(app=app),
        )
        (folder / "0002_change.py").write_text(code)
    if imported:
        (root / "k_imported" / "data.py").write_text(CASES["run"][0].replace("{app}", "k_imported"))
    return apps


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    db = f"schemaops_keepfn_{uuid.uuid4().hex[:8]}"
    create_database(db)
    try:
        yield tmp_path, db
    finally:
        drop_database(db)


def _rows(db: str, table: str) -> list[str]:
    conn = psycopg2.connect(**{**PG, "dbname": db})
    try:
        with conn.cursor() as cur:
            cur.execute(f'SELECT title FROM "{table}" ORDER BY title')  # test's own table names
            return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def _errors(root: Path, db: str) -> list[dict[str, object]]:
    done = schemaops(root, db, "check", "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    findings = json.loads(done.stdout)["findings"]
    return [f for f in findings if f["severity"] == "error"]


def test_fix_copies_module_definitions_and_the_files_apply(project: tuple[Path, str]) -> None:
    root, db = project
    apps = _write(root, CASES, imported=False)
    before = schemaops(root, db, "check", "--format", "json")
    recipes = [r["recipe"] for r in json.loads(before.stdout)["remedies"].values()]
    assert any("def forwards(apps, schema_editor):" in r for r in recipes)  # check shows it
    code = [line for r in recipes for line in r.splitlines() if not line.startswith("#")]
    assert not [line for line in code if "migrations.0002_change." in line]
    assert not [r for r in recipes if "manual copying" in r]
    done = schemaops(root, db, "fix")
    assert done.returncode == 0, done.stderr
    for app in apps:
        written = sorted((root / app / "migrations").glob("0002_change*.py"))
        assert len(written) >= 2, (app, written)  # the AddIndex was remedied: a split
        for path in written:
            code = path.read_text()
            compile(code, str(path), "exec")  # every file written compiles
            assert "migrations.0002_change" not in code, code
            assert "manual copying" not in code, code
    run_file = (root / "k_run" / "migrations" / "0002_change_1_keep.py").read_text()
    assert "def forwards(apps, schema_editor):" in run_file
    assert "def backwards(apps, schema_editor):" in run_file
    assert "code=forwards," in run_file and "reverse_code=backwards," in run_file
    helper = (root / "k_helper" / "migrations" / "0002_change_1_keep.py").read_text()
    assert "def _title(n):" in helper and 'PREFIX = "p-"' in helper
    assert "import itertools" in helper  # the helper's import came along
    assert "UNUSED" not in helper  # only what is needed
    op_file = (root / "k_op" / "migrations" / "0002_change_1_keep.py").read_text()
    assert "class AddParentRow(Operation):" in op_file and "AddParentRow(" in op_file
    assert "from django.db.migrations.operations.base import Operation" in op_file
    # the planner's own files (expand, contract) carry the default and validator too
    for path in (root / "k_default" / "migrations").glob("0002_change*.py"):
        code = path.read_text()
        if "make_token" in code:
            assert "default=make_token" in code and "validators=[check_token]" in code
            assert "def make_token():" in code and "def check_token(value):" in code
    assert "deploy_phase" in (root / "k_default" / "migrations" / "0002_change_post.py").read_text()

    imported = run(
        root,
        db,
        "-c",
        "import django; django.setup(); "
        + "; ".join(
            f"import importlib; importlib.import_module('{app}.migrations.{p.stem}')"
            for app in apps
            for p in (root / app / "migrations").glob("0002_change*.py")
        ),
    )
    assert imported.returncode == 0, imported.stderr  # every file written imports

    assert _errors(root, db) == []
    for phase in ("pre", "post"):
        applied = schemaops(root, db, "migrate", "--phase", phase)
        assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _rows(db, "k_run_parent") == ["made by forwards"]
    assert _rows(db, "k_helper_parent") == ["p-0", "p-1", "p-2"]
    assert _rows(db, "k_op_parent") == ["made by the operation"]
    conn = psycopg2.connect(**{**PG, "dbname": db})
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'k\\_%\\_name\\_idx'"
            )
            assert len(cur.fetchall()) == len(apps)
    finally:
        conn.close()


@pytest.mark.once
def test_a_function_imported_from_the_app_stays_an_import(project: tuple[Path, str]) -> None:
    root, db = project
    _write(root, {}, imported=True)
    done = schemaops(root, db, "fix")
    assert done.returncode == 0, done.stderr
    keep = (root / "k_imported" / "migrations" / "0002_change_1_keep.py").read_text()
    assert "import k_imported.data" in keep
    assert "code=k_imported.data.forwards" in keep
    assert "def forwards" not in keep  # nothing copied
    assert _errors(root, db) == []
    for phase in ("pre", "post"):
        applied = schemaops(root, db, "migrate", "--phase", phase)
        assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _rows(db, "k_imported_parent") == ["made by forwards"]


FILL = """
from django.db.models import F

FACTOR = 2


def fill_f(apps, schema_editor):
    Item = apps.get_model("k_fill", "Item")
    Item.objects.filter(f__isnull=True).update(f=F("qty") * FACTOR)
"""


@pytest.mark.once
def test_a_backfill_class_gets_the_constants_its_function_reads(
    project: tuple[Path, str],
) -> None:
    """The planner moves a RunPython that walks a table to backfills.py: its module's
    constant comes along (it used to be left in the migration, unremedied)."""
    root, db = project
    _write(root, {}, imported=False)
    settings = root / "proofproj" / "settings.py"
    settings.write_text(SETTINGS.format(apps=["k_fill"]))
    with_backfill_app(root)
    folder = root / "k_fill" / "migrations"
    folder.mkdir(parents=True)
    name_idx = '            models.Index(fields=["name"], name="k_fill_name_idx"),\n'
    fields = "    f = models.IntegerField(null=True)\n"
    models = models_py("k_fill", fields=fields, indexes=name_idx)
    (root / "k_fill" / "models.py").write_text(models)  # backfills use the real models
    (root / "k_fill" / "__init__.py").write_text("")
    (folder / "__init__.py").write_text("")
    (folder / "0001_initial.py").write_text(initial_migration("k_fill"))
    (folder / "0002_change.py").write_text(
        CHANGE.format(
            header=HEADER,
            top=FILL,
            app="k_fill",
            operation='migrations.AddField("item", "f", models.IntegerField(null=True)), '
            "migrations.RunPython(fill_f, migrations.RunPython.noop)",
            add_index=ADD_INDEX.format(app="k_fill"),
        )
    )
    applied = schemaops(root, db, "migrate", "k_fill", "0001_initial")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    conn = psycopg2.connect(**{**PG, "dbname": db})
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO k_fill_item (qty, legacy) SELECT n, 'x' FROM generate_series(1, 50) n"
            )
    finally:
        conn.close()
    done = schemaops(root, db, "fix")
    assert done.returncode == 0, done.stderr
    assert "schemaops backfill start k_fill.FillFBackfill --wait" in done.stdout
    # fix reports what it did, without naming itself again after its own prefix
    assert "schemaops fix: wrote class FillFBackfill to k_fill/backfills.py" in done.stdout
    assert "`schemaops fix`" not in done.stdout
    backfills = (root / "k_fill" / "backfills.py").read_text()
    compile(backfills, "backfills.py", "exec")
    assert "FACTOR = 2" in backfills and "def fill_f(apps, schema_editor):" in backfills
    for path in folder.glob("0002_change*.py"):
        assert "RunPython(" not in path.read_text()
    assert _errors(root, db) == []
    steps = [("migrate", "--phase", "pre"), ("backfill", "start", "k_fill.FillFBackfill", "--wait")]
    for step in [*steps, ("migrate", "--phase", "post")]:
        ran = schemaops(root, db, *step)
        assert ran.returncode == 0, ran.stdout + ran.stderr
    conn = psycopg2.connect(**{**PG, "dbname": db})
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), count(*) FILTER (WHERE f = qty * 2) FROM k_fill_item")
            assert cur.fetchone() == (50, 50)
    finally:
        conn.close()


GUARDED = """
try:
    from nowhere import forwards
except ImportError:
    def forwards(apps, schema_editor):
        apps.get_model("{app}", "Parent").objects.create(title="made in a try block")
"""

EXEC = """
exec("def forwards(apps, schema_editor):\\n    pass")
"""


@pytest.mark.once
def test_a_block_is_copied_whole_and_what_cannot_be_copied_is_left_alone(
    project: tuple[Path, str],
) -> None:
    """A function bound in a top-level ``try`` is copied with its block; a lambda
    (Django's writer cannot serialize it) and a function made by ``exec`` (no source
    to copy) leave their migration as it is, with a note, and ``check`` still runs."""
    root, db = project
    cases = {
        "guarded": (GUARDED, "migrations.RunPython(forwards)"),
        "lambda": ("", "migrations.RunPython(lambda apps, schema_editor: None)"),
        "exec": (EXEC, "migrations.RunPython(forwards)"),
    }
    _write(root, cases, imported=False)
    originals = {
        app: (root / app / "migrations" / "0002_change.py").read_text()
        for app in ("k_lambda", "k_exec")
    }
    done = schemaops(root, db, "fix")
    assert done.returncode == 0, done.stderr
    assert "k_lambda.0002_change is left as it is" in done.stdout
    assert "Cannot serialize function: lambda" in done.stdout
    assert "k_exec.0002_change is left as it is" in done.stdout
    assert "forwards: not found at the top of k_exec.migrations.0002_change" in done.stdout
    for app, text in originals.items():
        assert (root / app / "migrations" / "0002_change.py").read_text() == text
        assert not list((root / app / "migrations").glob("0002_change_*.py"))
    guarded = (root / "k_guarded" / "migrations" / "0002_change_1_keep.py").read_text()
    assert "except ImportError:\n    def forwards(apps, schema_editor):" in guarded
    checked = schemaops(root, db, "check", "k_lambda", "--format", "json")
    assert checked.returncode in (0, 1), checked.stderr  # its remedy is shown, no crash
    for phase in ("pre", "post"):
        applied = schemaops(root, db, "migrate", "k_guarded", "--phase", phase)
        assert applied.returncode == 0, applied.stdout + applied.stderr
    assert _rows(db, "k_guarded_parent") == ["made in a try block"]
