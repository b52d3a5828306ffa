"""Operation line numbers read from real migration files, however they build ``operations``."""

from __future__ import annotations

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
