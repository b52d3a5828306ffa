"""Operation line numbers read from real migration files, however they build ``operations``."""

from __future__ import annotations

import importlib
import importlib.machinery
import marshal
import py_compile
import subprocess
import sys
import textwrap

import pytest

from schemaops import source


@pytest.fixture(autouse=True)
def _fresh():
    source.clear_cache()
    yield
    source.clear_cache()


def _write(tmp_path, body: str) -> str:
    path = tmp_path / "0002_change.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return str(path)


def test_operations_per_database_vendor_pick_the_branch_that_ran(tmp_path):
    path = _write(
        tmp_path,
        """\
        from django.db import connection, migrations, models


        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]

            if connection.vendor == "postgresql":
                operations = [
                    migrations.AddField("order", "a", models.TextField()),
                    migrations.AddField("order", "b", models.TextField()),
                ]
            else:
                operations = [
                    migrations.AddField("order", "a", models.TextField(null=True)),
                ]
                operations.append(migrations.AddField("order", "b", models.TextField()))
                operations.append(migrations.AddField("order", "c", models.TextField()))
        """,
    )
    assert source.read(path, 2).spans == [(9, 9), (10, 10)]
    assert source.read(path, 3).spans == [(14, 14), (16, 16), (17, 17)]
    assert source.read(path, 2).line_of(1) == 10
    assert source.read(path, 2).line_of(None) == 8  # the operations assignment
    # A count no branch has gives the first branch, whatever an earlier read picked.
    assert source.read(path, 3).spans[0] == (14, 14)
    assert source.read(path, 7).spans == [(9, 9), (10, 10)]


def test_concatenated_lists_and_data_migration_functions_above_the_class(tmp_path):
    path = _write(
        tmp_path,
        '''\
        from django.db import migrations, models

        EXTRA = [migrations.RunSQL("SELECT 1", migrations.RunSQL.noop)]


        def forwards(apps, schema_editor):
            """class Migration( in a docstring does not fool the reader."""
            for row in apps.get_model("shop", "Order").objects.all():
                row.save()


        class Migration(migrations.Migration):
            dependencies = [("shop", "0001_initial")]
            operations = [
                migrations.RunPython(forwards, migrations.RunPython.noop),
            ] + [
                migrations.AddField(
                    "order",
                    "note",
                    models.TextField(null=True),
                ),
            ] + EXTRA
        ''',
    )
    src = source.read(path, 3)
    assert src.spans == [(15, 15), (17, 21)]  # EXTRA is not a literal: no span for it
    assert src.line_of(2) == 14  # falls back to the operations line, not None


def test_operations_built_by_a_call_point_at_the_assignment(tmp_path):
    path = _write(
        tmp_path,
        """\
        from django.db import migrations

        from shop.ops import make_operations


        class Migration(migrations.Migration):
            dependencies = []
            operations = make_operations()
        """,
    )
    src = source.read(path, 4)
    assert src.spans == []
    assert src.line_of(0) == 8
    assert src.line_of(None) == 8


def test_a_class_line_inside_a_string_falls_back_to_the_whole_file(tmp_path):
    path = _write(
        tmp_path,
        '''\
        from django.db import migrations

        NOTE = """
        class Migration(nothing):
        """


        class Migration(migrations.Migration):
            operations = [migrations.RunSQL("SELECT 1", "SELECT 2")]
        ''',
    )
    assert source.read(path, 1).spans == [(9, 9)]


# -- lines read from the bytecode Django's import compiled ------------------

_PLAIN = """\
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]

    operations = [
        migrations.AddField(
            "order",
            "note",
            models.TextField(default=""),
        ),
        migrations.RunSQL("SELECT 1", reverse_sql=migrations.RunSQL.noop),  # one line
        migrations.AlterField("order", "note", models.TextField(
            default="x")),
    ]
"""
_HEAD, _OPERATIONS = _PLAIN.split("    operations = [")

# shapes the bytecode cannot vouch for: each is parsed, with the same result as ever
_PARSED = {
    "branch": _PLAIN.replace("    operations = [", "    if models:\n     operations = ["),
    "loop": _PLAIN.replace("    operations = [", "    for _ in [1]:\n     operations = ["),
    "walrus": _HEAD + "    (operations := [" + _OPERATIONS.replace("\n    ]\n", "\n    ])\n"),
    "not a call": _PLAIN.replace(
        'migrations.RunSQL("SELECT', 'noop if 0 else\n        migrations.RunSQL("SELECT'
    ),
    "a name": _PLAIN.replace("\n    ]\n", "\n        noop,\n    ]\n"),
    "empty": _HEAD + "    operations = []\n",
    "appended": _PLAIN + "    operations.append(migrations.RunSQL('SELECT 2'))\n",
    "word elsewhere": "# these operations are reviewed\n" + _PLAIN,
    "two targets": _PLAIN.replace("    operations = [", "    ops = operations = ["),
    "decorated": _PLAIN.replace("class Migration(", "@staticmethod\nclass Migration("),
    "long": _HEAD
    + "    operations = [\n"
    + "".join(f'        migrations.RunSQL("SELECT {i}"),\n' for i in range(40))
    + "    ]\n",
    "many names": _PLAIN.replace(
        "    dependencies =",
        "".join(f"    a{i} = {i}\n" for i in range(300)) + "    dependencies =",
    ),
}


def _compiled_read(path: str) -> source.MigrationSource:
    """``read`` with the module code kept as if Django had just imported ``path``."""
    with open(path, "rb") as handle:
        code = compile(handle.read(), path, "exec")
    source.keep_compiled({path: (code, source._text(path)[1], None)}, {path})
    return source.read(path)


def _lines(src: source.MigrationSource) -> tuple:
    return src.anchor, src.spans, src.candidates


def test_a_plain_migration_reads_its_lines_from_the_bytecode(tmp_path):
    path = _write(tmp_path, _PLAIN)
    text = source._text(path)[0]
    code = compile(text, path, "exec")
    assert source._compiled_operations(code, text) == (7, [(8, 12), (13, 13), (14, 15)])
    assert _lines(_compiled_read(path)) == (
        7,
        [(8, 12), (13, 13), (14, 15)],
        [[(8, 12), (13, 13), (14, 15)]],
    )
    source.clear_cache()
    assert _lines(source.read(path)) == (
        7,
        [(8, 12), (13, 13), (14, 15)],
        [[(8, 12), (13, 13), (14, 15)]],
    )


def test_windows_line_endings_and_a_tuple_read_the_same(tmp_path):
    path = tmp_path / "0002_change.py"
    body = (
        textwrap.dedent(_PLAIN)
        .replace("operations = [", "operations = (")
        .replace("\n    ]\n", "\n    )\n")
    )
    path.write_bytes(body.replace("\n", "\r\n").encode())
    text = source._text(str(path))[0]
    assert source._compiled_operations(compile(text, str(path), "exec"), text) is not None
    fast = _lines(_compiled_read(str(path)))
    source.clear_cache()
    assert (
        fast
        == _lines(source.read(str(path)))
        == (7, [(8, 12), (13, 13), (14, 15)], [[(8, 12), (13, 13), (14, 15)]])
    )


@pytest.mark.parametrize("shape", sorted(_PARSED))
def test_other_shapes_are_parsed_as_before(tmp_path, shape):
    path = _write(tmp_path, _PARSED[shape])
    text = source._text(path)[0]
    assert source._compiled_operations(compile(text, path, "exec"), text) is None
    parsed = _lines(source.read(path))
    source.clear_cache()
    assert _lines(_compiled_read(path)) == parsed


def test_a_file_changed_since_its_import_is_parsed_again(tmp_path):
    path = _write(tmp_path, _PLAIN)
    with open(path, "rb") as handle:
        code = compile(handle.read(), path, "exec")
    stamp = source._text(path)[1]
    _write(tmp_path, "\n\n" + _PLAIN)  # two lines more, as a fix could write
    source.keep_compiled({path: (code, stamp, textwrap.dedent(_PLAIN).encode())}, {path})
    assert source.read(path).spans == [(10, 14), (15, 15), (16, 17)]


def test_code_without_column_positions_is_not_trusted(tmp_path):
    """``-X no_debug_ranges`` keeps each instruction's first line as its last one too."""
    path = _write(tmp_path, _PLAIN)
    make = (
        "import marshal, sys\n"
        f"code = compile(open({path!r}).read(), 'm', 'exec')\n"
        "sys.stdout.buffer.write(marshal.dumps(code))\n"
    )
    out = subprocess.run(
        [sys.executable, "-X", "no_debug_ranges", "-c", make], capture_output=True, check=True
    )
    assert source._compiled_operations(marshal.loads(out.stdout), source._text(path)[0]) is None


def test_only_modules_imported_from_source_are_kept(tmp_path, monkeypatch):
    package = tmp_path / "keptpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "plain.py").write_text("X = 1\n")
    (package / "compiled_only.py").write_text("Y = 2\n")
    py_compile.compile(str(package / "compiled_only.py"), str(package / "compiled_only.pyc"))
    (package / "compiled_only.py").unlink()
    monkeypatch.syspath_prepend(str(tmp_path))
    with source.compiled_while_importing() as seen:
        importlib.import_module("keptpkg.plain")
        importlib.import_module("keptpkg.compiled_only")
    assert "get_code" not in importlib.machinery.SourceFileLoader.__dict__  # put back
    assert set(seen) == {str(package / "__init__.py"), str(package / "plain.py")}
    code, stamp, data = seen[str(package / "plain.py")]
    assert code.co_names == ("X",) and stamp == source._text(str(package / "plain.py"))[1]
    assert data == b"X = 1\n"  # compiled from its source: no .pyc was written yet


def test_load_graph_keeps_the_code_of_every_migration_and_reads_the_same_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from schemaops.selection import load_graph

    # an earlier test may have imported them: Django then takes them from sys.modules and
    # nothing is compiled (the files are then parsed);
    # this test is about a first import, as the console script makes (restored after)
    for name, module in list(sys.modules.items()):
        if ".migrations." in name and "site-packages" not in (
            getattr(module, "__file__", "") or ""
        ):
            monkeypatch.delitem(sys.modules, name)
    loader = load_graph()  # imports the sample project's migrations afresh
    paths = {sys.modules[type(m).__module__].__file__ for m in loader.disk_migrations.values()}
    project = {p for p in paths if "site-packages" not in p}
    assert project and project <= set(source._compiled)
    fast = {p: _lines(source.read(p)) for p in project}
    assert not set(source._compiled) & project  # each taken by its read
    source.clear_cache()
    assert fast == {p: _lines(source.read(p)) for p in project}


def test_the_code_kept_outlives_clearing_the_cache(tmp_path, monkeypatch):
    """The linter clears the cache as it starts, after load_graph kept the code."""
    path = _write(tmp_path, _PLAIN)
    with open(path, "rb") as handle:
        code = compile(handle.read(), path, "exec")
    source.keep_compiled({path: (code, source._text(path)[1], None)}, {path})
    source.clear_cache()
    monkeypatch.setattr(source, "_migration_class", None)  # parsing would fail
    assert source.read(path).spans == [(8, 12), (13, 13), (14, 15)]


def test_the_bytes_python_compiled_are_read_instead_of_the_file(tmp_path, monkeypatch):
    path = _write(tmp_path, _PLAIN)
    with open(path, "rb") as handle:
        data = handle.read()
    code = compile(data, path, "exec")
    source.keep_compiled({path: (code, source._text(path)[1], data)}, {path})
    monkeypatch.setattr(source, "_text", None)  # opening the file would fail
    assert _lines(source.read(path)) == (
        7,
        [(8, 12), (13, 13), (14, 15)],
        [[(8, 12), (13, 13), (14, 15)]],
    )
