"""The writer assembles each file from parts Django's writer serialized once per run
(schemaops.remedy.writer.module_text, WrittenParts): what it writes must be exactly what
Django's ``MigrationWriter.as_string`` writes for the same migration, file by file, also
when the parts come from earlier files (a Django upgrade that changes as_string fails here).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.migrations.writer import MigrationWriter

from schemaops.remedy.timeouts import with_lock_timeout
from schemaops.remedy.writer import WrittenParts, dependency, module_text


def forwards(apps: Any, schema_editor: Any) -> None:
    pass


def from_a_migration_module(apps: Any, schema_editor: Any) -> None:
    pass


from_a_migration_module.__module__ = "shop.migrations.0002_fill"

ADD = migrations.AddField("order", "note", models.TextField(null=True))
INDEX = AddIndexConcurrently("order", models.Index(fields=["note"], name="order_note_idx"))
SWAPPABLE = migrations.swappable_dependency("auth.User")
CASES: dict[str, tuple[list[Any], list[Any], bool]] = {
    "empty": ([], [], False),
    "initial, models imported": ([ADD], [("shop", "0001_initial")], True),
    "dependencies sorted": (
        [ADD],
        [("shop", "0002_b"), ("shop", "0002_a"), ("auth", "0001")],
        False,
    ),
    "a swappable dependency": ([ADD], [SWAPPABLE, ("shop", "0001_initial")], False),
    "an operation class imported": ([INDEX], [("shop", "0001_initial")], False),
    "a function imported": ([migrations.RunPython(forwards)], [("shop", "0001_initial")], False),
    "a function to copy by hand": (
        [migrations.RunPython(from_a_migration_module), migrations.RunPython(forwards)],
        [("shop", "0001_initial")],
        False,
    ),
    "timeouts around": (with_lock_timeout([ADD], "5s", atomic=True), [("shop", "0001")], False),
    "nested operations": (
        [
            migrations.SeparateDatabaseAndState(
                state_operations=[ADD], database_operations=[migrations.RunSQL(["SELECT 1"])]
            )
        ],
        [],
        False,
    ),
}


def _django(operations: list[Any], dependencies: list[Any], initial: bool) -> str:
    attrs = {
        "operations": operations,
        "dependencies": [dependency(d) for d in dependencies],
        "initial": initial,
    }
    migration = type("Migration", (migrations.Migration,), attrs)("0003_x", "shop")
    return MigrationWriter(migration, include_header=False).as_string()


@pytest.mark.parametrize("case", CASES)
def test_each_file_is_what_djangos_writer_writes(case: str) -> None:
    operations, dependencies, initial = CASES[case]
    expected = _django(operations, dependencies, initial)
    deps = [dependency(d) for d in dependencies]
    assert module_text(operations, deps, initial, WrittenParts()) == expected


def test_parts_shared_between_files_change_no_file() -> None:
    """One WrittenParts for all the files (as check's run has): every file is still
    Django's, in any order, and a shared operation is serialized once."""
    parts = WrittenParts()
    for case in [*CASES, *reversed(CASES)]:
        operations, dependencies, initial = CASES[case]
        deps = [dependency(d) for d in dependencies]
        assert module_text(operations, deps, initial, parts) == _django(*CASES[case])
    first, _add, last = with_lock_timeout([ADD], "5s", atomic=True)
    assert (first, last) == tuple(with_lock_timeout([INDEX], "5s", atomic=True)[::2])
    assert parts.operation(first)[0] is parts.operation(first)[0]


def test_what_django_cannot_serialize_fails_as_in_djangos_writer() -> None:
    lam = migrations.RunPython(lambda apps, editor: None)
    with pytest.raises(ValueError) as django_error:
        _django([lam], [], False)
    with pytest.raises(ValueError) as ours:
        module_text([lam], [], False, WrittenParts())
    assert str(ours.value) == str(django_error.value)
