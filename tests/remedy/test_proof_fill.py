"""Proof of the remedies where data must be filled (``schemaops.remedy.fill``).

The walk a user makes: ``schemaops fix``, ``schemaops check`` clean,
``schemaops migrate --phase pre``, the deploy (the old code still inserts
without the new column: ``trace --compat``), ``schemaops backfill`` as the
remedy says, ``schemaops migrate --phase post``. On a seeded table the result
must (a) pass ``check``, (b) apply pre then post and reverse, (c) hold no
write-blocking lock past the budget, pre-deploy and post-deploy traced on
seeded tables, (d) end in the original migration's schema and state, and
give every old row a value of its own (never one value shared by all).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import proof_project
import psycopg2
import pytest
from proof_support import (
    migrate,
    project_state,
    scans_under_lock,
    schema,
    schemaops,
    seed,
    timeout_findings,
)
from psycopg2 import sql
from support import PG

from schemaops.remedy.verify import blocking_holds

# case -> (operation, field code for models.py, how the existing rows are filled)
CASES: dict[str, tuple[str, str, str]] = {
    "uuid": (
        'migrations.AddField("item", "f", models.UUIDField(default=uuid.uuid4))',
        "models.UUIDField(default=uuid.uuid4)",
        "--set",
    ),
    "uuid_unique": (
        'migrations.AddField("item", "f", models.UUIDField(default=uuid.uuid4, unique=True))',
        "models.UUIDField(default=uuid.uuid4, unique=True)",
        "--set",
    ),
    "now": (
        'migrations.AddField("item", "f", models.DateTimeField(default=django.utils.timezone.now))',
        "models.DateTimeField(default=django.utils.timezone.now)",
        "--set",
    ),
    "project_fn": (
        'migrations.AddField("item", "f", models.CharField(max_length=16, '
        "default=c_project_fn.defaults.make_code, unique=True))",
        "models.CharField(max_length=16, default=c_project_fn.defaults.make_code, unique=True)",
        "class",
    ),
    "data": (
        'migrations.AddField("item", "f", models.IntegerField(null=True)), '
        "migrations.RunPython(fill_f, migrations.RunPython.noop)",
        "models.IntegerField(null=True)",
        "class",
    ),
    "tighten_default": (
        'migrations.AlterField("item", "qty", models.IntegerField(default=0))',
        "",
        "--set",
    ),
}
IMPORTS = "import uuid\nimport django.utils.timezone\nimport c_project_fn.defaults\n"
FILL_F = """

def fill_f(apps, schema_editor):
    Item = apps.get_model("c_data", "Item")
    Item.objects.filter(f__isnull=True).update(f=F("qty") * 2)
"""
DEFAULTS = "import secrets\n\n\ndef make_code():\n    return secrets.token_hex(8)\n"
# what the models' defaults name
MODEL_IMPORTS = "import uuid\nimport django.utils.timezone\nimport c_project_fn.defaults\n"


def _write(root: Path) -> list[str]:
    cases = {case: (op, "") for case, (op, _f, _h) in CASES.items()}
    apps = proof_project.write(root, cases)
    proof_project.with_backfill_app(root)
    (root / "c_project_fn" / "defaults.py").write_text(DEFAULTS)
    for app, (case, (_op, field, _how)) in zip(apps, CASES.items(), strict=True):
        unsafe = root / app / "migrations" / "0002_unsafe.py"
        text = IMPORTS + unsafe.read_text()
        if case == "data":  # the data migration's function, in the migration module
            text = text.replace("\n\nclass Migration", FILL_F + "\n\nclass Migration")
            text = "from django.db.models import F\n" + text
        unsafe.write_text(text)
        fields = f"    f = {field}\n" if field else ""
        qty = "default=0" if case == "tighten_default" else "null=True"
        models = proof_project.models_py(app, imports=MODEL_IMPORTS, qty=qty, fields=fields)
        (root / app / "models.py").write_text(models)
    return apps


def _null_some_qty(db: str, app: str) -> None:
    conn = psycopg2.connect(**{**PG, "dbname": db})
    conn.autocommit = True
    with conn, conn.cursor() as cur:
        query = sql.SQL("UPDATE {} SET qty = NULL WHERE id % 3 = 0")
        cur.execute(query.format(sql.Identifier(f"{app}_item")))
    conn.close()


def _rows(db: str, query: str) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(**{**PG, "dbname": db})
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return list(cur.fetchall())
    finally:
        conn.close()


def _backfill_command(files: dict[str, str], findings_recipe: str) -> list[str]:
    """The `schemaops backfill start ...` the remedy names, as arguments."""
    line = next(x for x in findings_recipe.splitlines() if "schemaops backfill start" in x)
    command = line.split("schemaops backfill start", 1)[1]
    return ["backfill", "start", *shlex.split(command)]


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    root = tmp_path_factory.mktemp("fill")
    apps = _write(root)
    ref, db = proof_databases
    out: dict[str, Any] = {"apps": apps, "root": root}
    out["original_state"] = project_state(root, ref)
    migrate(root, ref)
    out["reference"] = {app: schema(ref, app) for app in apps}

    migrate(root, db, *(f"{app}:0001_initial" for app in apps))
    out["initial"] = {app: schema(db, app) for app in apps}
    seed(db, apps)
    _null_some_qty(db, "c_tighten_default")
    before = schemaops(root, db, "check", "--format", "json")
    out["before"] = json.loads(before.stdout)
    fixed = schemaops(root, db, "fix")
    assert fixed.returncode == 0, fixed.stderr
    out["files"] = {app: _files(root / app) for app in apps}
    checked = schemaops(root, db, "check", "--format", "json")
    assert checked.returncode in (0, 1), checked.stderr
    out["findings"] = json.loads(checked.stdout)["findings"]
    out["state"] = project_state(root, db)
    compat = schemaops(root, db, "trace", "--compat", "--format", "json", "-q")
    out["compat"] = json.loads(compat.stdout)
    pre_trace = schemaops(root, db, "trace", "--rows", "300", "--format", "json", "-q")
    out["pre_trace"] = json.loads(pre_trace.stdout)
    applied = schemaops(root, db, "migrate", "--phase", "pre")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    out["backfills"] = {}
    for app in apps:
        recipe = out["before_remedies"] = out["before"]["remedies"]
        text = next(r["recipe"] for k, r in recipe.items() if k.startswith(f"{app}."))
        args = _backfill_command(out["files"][app], text)
        done = schemaops(root, db, *args)
        assert done.returncode == 0, f"{args}\n{done.stdout}{done.stderr}"
        out["backfills"][app] = args
    post_trace = schemaops(
        root, db, "trace", "--from-database", "--rows", "300", "--format", "json", "-q"
    )
    assert post_trace.returncode == 0, post_trace.stdout + post_trace.stderr
    out["post_trace"] = json.loads(post_trace.stdout)
    applied = schemaops(root, db, "migrate", "--phase", "post")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    out["fixed"] = {app: schema(db, app) for app in apps}
    out["values"] = {
        app: _rows(db, f"SELECT count(*), count(DISTINCT f), count(f) FROM {app}_item")[0]
        for app in apps
        if app != "c_tighten_default"
    }
    out["qty"] = _rows(db, "SELECT count(*), count(qty) FROM c_tighten_default_item")[0]
    out["data_rows"] = _rows(
        db, "SELECT count(*), count(*) FILTER (WHERE f = qty * 2) FROM c_data_item"
    )
    migrate(root, db, *(f"{app}:0001_initial" for app in apps))
    out["reversed"] = {app: schema(db, app) for app in apps}
    return out


def _files(folder: Path) -> dict[str, str]:
    out = {p.stem: p.read_text() for p in sorted((folder / "migrations").glob("0*.py"))}
    if (folder / "backfills.py").exists():
        out["backfills"] = (folder / "backfills.py").read_text()
    return out


APPS = [f"c_{case}" for case in CASES]
FILLS = [app for app in APPS if app != "c_data"]


@pytest.mark.parametrize("app", APPS)
def test_the_original_is_flagged_and_gets_the_fill_remedy(proof: Any, app: str) -> None:
    mine = {k: r for k, r in proof["before"]["remedies"].items() if k.startswith(f"{app}.")}
    assert len(mine) == 1, "one remedy for the operation"
    remedy = next(iter(mine.values()))
    assert remedy["kind"] in ("fill-then-tighten", "not-null-by-check", "data-change-to-backfill")
    assert "schemaops backfill start" in remedy["backfill"]
    assert " at 0x" not in remedy["recipe"]


@pytest.mark.parametrize("app", FILLS)
def test_the_files_are_expand_backfill_contract(proof: Any, app: str) -> None:
    files = proof["files"][app]
    post = [text for text in files.values() if 'deploy_phase = "post"' in text]
    assert post, "the tightening runs after the deploy"
    assert all("NOT VALID" not in t for n, t in files.items() if "post" not in n), "pre: no CHECK"
    written = "\n".join(post)
    assert "IS NOT NULL) NOT VALID" in written and "VALIDATE CONSTRAINT" in written
    assert " at 0x" not in "\n".join(files.values())


def test_unique_is_built_concurrently_and_attached_after_the_backfill(proof: Any) -> None:
    for app in ("c_uuid_unique", "c_project_fn"):
        post = "\n".join(t for n, t in proof["files"][app].items() if "post" in n)
        assert "CREATE UNIQUE INDEX CONCURRENTLY" in post and "UNIQUE USING INDEX" in post
        assert "atomic = False" in post


def test_a_project_function_gets_a_backfill_class(proof: Any) -> None:
    assert proof["backfills"]["c_project_fn"][2:] == ["c_project_fn.FillItemF", "--wait"]
    assert "class FillItemF(Backfill):" in proof["files"]["c_project_fn"]["backfills"]
    assert proof["backfills"]["c_uuid"][4] == "f = gen_random_uuid()"
    assert proof["backfills"]["c_now"][4] == "f = now()"
    assert proof["backfills"]["c_tighten_default"][4] == "qty = 0"


@pytest.mark.parametrize("app", APPS)
def test_a_check_reports_no_error_on_the_result(proof: Any, app: str) -> None:
    errors = [f for f in proof["findings"] if f["app"] == app and f["severity"] == "error"]
    assert errors == []
    assert timeout_findings(proof["findings"], app) == []


def test_the_old_code_survives_the_pre_deploy_step(proof: Any) -> None:
    """trace --compat: the old release inserts without the new column after `pre`."""
    old_breaks = [
        f for f in proof["compat"]["findings"] if f["code"] == "SO803" and f["app"] in APPS
    ]
    assert old_breaks == []
    # with a per-row SQL equivalent the column gets it as its DEFAULT until the post-deploy
    # step, so even the rows the old code inserts during the deploy have their value
    new_breaks = {f["app"] for f in proof["compat"]["findings"] if f["code"] == "SO804"}
    assert not new_breaks & {"c_uuid", "c_uuid_unique", "c_now"}
    phases = proof["compat"]["phases"]
    assert any("pre" in json.dumps(p) for p in phases)


@pytest.mark.parametrize("app", APPS)
def test_b_applies_and_reverses(proof: Any, app: str) -> None:
    assert proof["reversed"][app] == proof["initial"][app]
    assert proof["fixed"][app] != proof["initial"][app]


def test_the_data_migration_runs_as_a_backfill_of_the_model_it_fetches(proof: Any) -> None:
    files = proof["files"]["c_data"]
    assert "RunPython" not in files["0002_unsafe"] and "AddField" in files["0002_unsafe"]
    assert "class FillFBackfill(Backfill):" in files["backfills"]
    assert "model = 'c_data.Item'" in files["backfills"]
    assert "def fill_f(apps, schema_editor):" in files["backfills"]
    assert proof["backfills"]["c_data"][2:] == ["c_data.FillFBackfill", "--wait"]
    assert proof["data_rows"] == [(300, 300)]


def test_every_old_row_gets_its_own_value(proof: Any) -> None:
    for app, (total, distinct, filled) in proof["values"].items():
        assert filled == total == 300, app
        if app != "c_now":
            assert distinct == total, f"{app}: one value shared by several rows"
    assert proof["qty"] == (300, 300)


def _traced(trace: dict[str, Any], app: str) -> dict[str, Any]:
    return {"migrations": [m for m in trace["migrations"] if m["app"] == app]}


@pytest.mark.parametrize("app", APPS)
def test_c_no_blocking_lock_past_the_budget(proof: Any, app: str) -> None:
    pre = _traced(proof["pre_trace"], app)
    post = _traced(proof["post_trace"], app)
    assert pre["migrations"] and (post["migrations"] or app == "c_data")
    assert all(not m["error"] for m in post["migrations"])
    for trace in (pre, post):
        ok = [m for m in trace["migrations"] if not m["error"]]
        assert blocking_holds({"migrations": ok}) == []
    assert scans_under_lock(proof["post_trace"], app) == []
    pre_ok = [m for m in pre["migrations"] if "post" not in m["migration"]]
    assert all(not m["error"] for m in pre_ok)


@pytest.mark.parametrize("app", APPS)
def test_d_final_schema_and_state_equal_the_originals(proof: Any, app: str) -> None:
    assert proof["fixed"][app] == proof["reference"][app]
    mine = {k: v for k, v in proof["state"].items() if k.startswith(f"{app}.")}
    original = {k: v for k, v in proof["original_state"].items() if k.startswith(f"{app}.")}
    assert mine == original
