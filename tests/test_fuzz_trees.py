"""Generated odd migration trees: ``schemaops check`` ends 0, 1 or 2, never a traceback or a hang.

Each tree is a tiny project of its own (``tinyproj``) checked by the real
console script in a subprocess with a timeout. Trees mix what real projects
get wrong: dependencies that are missing, circular or on themselves, a
``replaces`` that names itself, operations on models or fields that do not
exist, files that do not import, ``RunSQL`` with odd arguments, custom
operations whose ``deconstruct()`` raises, schema-qualified ``db_table``.
The quick run keeps CI short; the ``slow`` run tries more trees.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tinyproj import migration_source, write_project

# the project's own settings (pyproject.toml), not the ones the test run set up
ENV = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
MODELS = ["order", "item", "ghost"]  # "ghost" is never created

EXPLODING = """class Exploding(migrations.AddField):
    def deconstruct(self):
        raise RuntimeError("no deconstruct")


"""


def _create(model: str, table: str | None) -> str:
    options = f", options={{'db_table': {table!r}}}" if table else ""
    return (
        f'migrations.CreateModel("{model.title()}", [("id", models.BigAutoField(primary_key=True)),'
        f' ("n", models.IntegerField(null=True))]{options})'
    )


TABLES = st.sampled_from([None, None, '"sales"."order_t"', 'sales"."o', "plain_t"])
MODEL = st.sampled_from(MODELS)
FIELD = st.sampled_from(["n", "x", "id"])

OPERATION = st.one_of(
    st.builds(_create, MODEL, TABLES),
    st.builds(
        lambda m, f: f'migrations.AddField("{m}", "{f}", models.IntegerField(null=True))',
        MODEL,
        FIELD,
    ),
    st.builds(lambda m, f: f'migrations.RemoveField("{m}", "{f}")', MODEL, FIELD),
    st.builds(
        lambda m, f: f'migrations.AlterField("{m}", "{f}", models.BigIntegerField())', MODEL, FIELD
    ),
    st.builds(
        lambda m: f'migrations.AddIndex("{m}", models.Index(fields=["n"], name="{m}_n"))', MODEL
    ),
    st.builds(lambda m: f'migrations.DeleteModel("{m}")', MODEL),
    st.builds(lambda m: f'migrations.RenameModel("{m}", "{m}2")', MODEL),
    st.sampled_from(
        [
            "migrations.RunSQL(42)",
            "migrations.RunSQL([()])",
            "migrations.RunSQL([(1, 2)])",
            'migrations.RunSQL("SELEC 1")',
            'migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN z int")',
            'migrations.RunSQL(["UPDATE shop_order SET n = %s", None])',
            "migrations.RunPython(migrations.RunPython.noop)",
        ]
    ),
    st.builds(lambda m: f'Exploding("{m}", "e", models.IntegerField(null=True))', MODEL),
)


@st.composite
def trees(draw: st.DrawFn) -> dict[str, str]:
    count = draw(st.integers(1, 4))
    names = [f"{i + 1:04d}_m{i + 1}" for i in range(count)]
    files = {}
    for i, name in enumerate(names):
        deps = [names[i - 1]] if i else []
        if draw(st.integers(0, 2)) == 0:  # an odd dependency now and then
            deps.append(draw(st.sampled_from([*names, "0099_missing"])))
        dependencies = ", ".join(f'("shop", "{d}")' for d in deps)
        operations = ", ".join(draw(st.lists(OPERATION, min_size=1, max_size=3)))
        extra = ""
        if draw(st.integers(0, 3)) == 0:
            replaced = draw(st.lists(st.sampled_from(names), min_size=1, max_size=2))
            extra = "replaces = [" + ", ".join(f'("shop", "{r}")' for r in replaced) + "]"
        kind = draw(st.sampled_from(["ok"] * 6 + ["syntax", "import", "empty"]))
        if kind == "syntax":
            files[name] = "class Migration(:\n"
        elif kind == "empty":
            files[name] = "x = 1\n"
        else:
            head = EXPLODING + ("import no_such_module_x\n" if kind == "import" else "")
            files[name] = migration_source(operations, dependencies, extra=extra, head=head)
    return files


def _check_one(files: dict[str, str], sql: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="schemaops-fuzz-") as tmp:
        root = write_project(Path(tmp), files, port="1")
        args = [sys.executable, "-m", "schemaops", "check", *(["--sql"] if sql else [])]
        try:
            proc = subprocess.run(
                args, cwd=root, env=ENV, capture_output=True, text=True, timeout=60
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"check hung on this tree: {files}")
    where = f"tree: {files}\nstderr: {proc.stderr}"
    assert proc.returncode in (0, 1, 2), where
    assert "Traceback" not in proc.stderr + proc.stdout, where
    assert "internal error" not in proc.stderr, where
    if proc.returncode == 2:
        assert len(proc.stderr.strip().splitlines()) == 1, where


COMMON = {
    "deadline": None,  # each example is a subprocess
    "derandomize": True,  # the same trees on every CI run
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow],
}


@settings(max_examples=12, **COMMON)
@given(trees(), st.booleans())
def test_odd_trees_end_in_0_1_or_2(files, sql):
    _check_one(files, sql)


@pytest.mark.slow
@settings(max_examples=80, **COMMON)
@given(trees(), st.booleans())
def test_many_odd_trees_end_in_0_1_or_2(files, sql):
    _check_one(files, sql)
