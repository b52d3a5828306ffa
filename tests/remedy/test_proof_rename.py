"""Proof of the rename remedies (keep the database name), on the real PostgreSQL.

Renames are the one remedy whose final schema is *not* the original's: the
point is that the database keeps its names. So here (d) is: the schema after
the fixed migrations equals the schema before them (nothing renamed), and the
project state equals the original's but for the one ``db_column`` /
``db_table`` the remedy adds; and the models.py the remedy asks for (the
renamed models plus that line) makes ``makemigrations --check`` clean, where
the renamed models without it do not. ``schemaops trace --compat`` replays
the rollout: the old and the new code both work against the fixed
migrations, and break against the original ones (the measure can fail).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import proof_project
import pytest
from proof_support import (
    assert_models_py_needs_the_lines,
    compat_breaks,
    original_remedy,
    prove_written_beside_original,
    scans_under_lock,
    timeout_findings,
    written_files,
)

from schemaops.remedy.verify import blocking_holds

# case -> (operation, the models.py Item/Parent after the rename (None: as initial), the line)
CASES: dict[str, tuple[str, str]] = {
    "rename_field": ('migrations.RenameField("item", "name", "title")', "keep-database-name"),
    "rename_fk": ('migrations.RenameField("item", "ref", "parent")', "keep-database-name"),
    "db_column": (
        'migrations.AlterField("item", "code", models.CharField(max_length=20, null=True, '
        'db_column="item_code"))',
        "keep-database-name",
    ),
    "rename_model": ('migrations.RenameModel("parent", "Owner")', "keep-database-name"),
    "rename_post": ('migrations.RenameField("item", "legacy", "old_code")', "keep-database-name"),
    # renames the join table c_rename_m2m_item_f
    "rename_m2m": ('migrations.RenameField("item", "f", "tags")', "keep-database-name"),
}
# as makemigrations writes it (app-qualified)
EXTRA = {"rename_m2m": 'models.ManyToManyField("c_rename_m2m.extra")'}
POST = {"rename_post"}

# The models.py a user has after the rename, with the line the remedy asks for ({keep}).
MODELS = """from django.db import models


class {parent}(models.Model):
    id = models.BigAutoField(primary_key=True, serialize=False)
    title = models.CharField(max_length=40, null=True)
{parent_meta}

class Extra(models.Model):
    id = models.BigAutoField(primary_key=True, serialize=False)
    note = models.TextField(null=True)


class Item(models.Model):
    id = models.BigAutoField(primary_key=True, serialize=False)
    {name} = models.CharField(max_length=40, null=True{name_kw})
    {qty} = models.IntegerField(null=True{qty_kw})
    code = models.CharField(max_length=20, null=True{code_kw})
    {legacy} = models.CharField(max_length=20, default="x"{legacy_kw})
    {ref} = models.ForeignKey("{parent}", null=True, on_delete=models.CASCADE{ref_kw}){m2m}

    class Meta:
        indexes = [models.Index(fields=["{qty}"], name="{app}_qty_idx")]
"""


def models_py(case: str, app: str, keep: bool) -> str:
    """Item/Parent as the user renamed them; ``keep``: with the remedy's one line."""
    values = {
        "parent": "Parent",
        "parent_meta": "",
        "name": "name",
        "qty": "qty",
        "ref": "ref",
        "legacy": "legacy",
        "legacy_kw": "",
        "name_kw": "",
        "qty_kw": "",
        "code_kw": "",
        "ref_kw": "",
        "m2m": "",
        "app": app,
    }
    if case == "rename_field":
        values.update(name="title", name_kw=', db_column="name"' if keep else "")
    if case == "rename_fk":
        values.update(ref="parent", ref_kw=', db_column="ref_id"' if keep else "")
    if case == "rename_post":
        values.update(legacy="old_code", legacy_kw=', db_column="legacy"' if keep else "")
    if case == "db_column":
        values.update(code_kw=', db_column="code"' if keep else ', db_column="item_code"')
    if case == "rename_m2m":
        kw = f'db_table="{app}_item_f"' if keep else ""
        values.update(m2m=f'\n    tags = models.ManyToManyField("Extra", {kw})')
    if case == "rename_model":
        meta = f'\n    class Meta:\n        db_table = "{app}_parent"\n' if keep else ""
        values.update(parent="Owner", parent_meta=meta)
    return MODELS.format(**values)


def _write(root: Path) -> list[str]:
    apps = proof_project.write(root, CASES, extra_fields=EXTRA)
    proof_project.declared_as_in_models_py(root, apps)
    proof_project.post_deploy(root, [f"c_{case}" for case in POST])
    return apps


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    return prove_written_beside_original(tmp_path_factory, "rename", _write, proof_databases)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fix_renames_in_the_state_only(proof: Any, case: str) -> None:
    written = written_files(proof, f"c_{case}")
    assert "SeparateDatabaseAndState" in written
    assert "database_operations" not in written, "no database work (the writer omits [])"
    assert "models.py: " in written, "the line to add to models.py is stated"
    assert "RunSQL" not in written
    if case in POST:
        assert 'deploy_phase = "post"' in written


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_shows_the_planned_remedy_on_the_original(proof: Any, case: str) -> None:
    remedy = original_remedy(proof, f"c_{case}")
    assert remedy["kind"] == "keep-database-name"
    assert remedy["instructions"][0].startswith("models.py: ")
    assert "# models.py: " in remedy["recipe"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_check_reports_no_error(proof: Any, case: str) -> None:
    mine = [f for f in proof["findings"] if f["app"] == f"c_{case}" and f["severity"] == "error"]
    assert mine == []
    assert timeout_findings(proof["findings"], f"c_{case}") == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_b_c_applies_reverses_and_blocks_nothing(proof: Any, case: str) -> None:
    app = f"c_{case}"
    assert proof["reversed"][app] == proof["initial"][app]
    mine = {"migrations": [m for m in proof["trace"]["migrations"] if m["app"] == app]}
    assert mine["migrations"] and all(not m["error"] for m in mine["migrations"])
    assert blocking_holds(mine) == []
    assert scans_under_lock(proof["trace"], app) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_d_the_database_keeps_its_names(proof: Any, case: str) -> None:
    app = f"c_{case}"
    assert proof["fixed"][app] == proof["initial"][app], "nothing renamed"
    assert proof["reference"][app] != proof["initial"][app], "the original did rename"


@pytest.mark.parametrize("case", sorted(CASES))
def test_d_state_differs_only_by_the_kept_name(proof: Any, case: str) -> None:
    app = f"c_{case}"
    mine = {k: v for k, v in proof["state"].items() if k.startswith(f"{app}.")}
    original = {k: v for k, v in proof["original_state"].items() if k.startswith(f"{app}.")}
    assert mine.keys() == original.keys()
    changed = [k for k in mine if mine[k] != original[k]]
    assert len(changed) == 1
    kept = {
        "rename_model": "'db_table', \"'c_rename_model_parent'\"",
        "db_column": "db_column='code'",
        "rename_m2m": "db_table='c_rename_m2m_item_f'",
    }
    word = kept.get(case, "db_column=")
    assert word in mine[changed[0]] and word not in original[changed[0]]


@pytest.mark.parametrize("case", sorted(CASES))
def test_makemigrations_is_clean_with_the_stated_line(proof: Any, case: str) -> None:
    app = f"c_{case}"
    without, with_ = (models_py(case, app, keep=keep) for keep in (False, True))
    assert_models_py_needs_the_lines(proof["root"], app, without, with_)


def test_compat_old_and_new_code_work_with_the_fix(proof: Any) -> None:
    assert compat_breaks(proof["compat"], expected=False) == []


def test_compat_the_original_renames_break_the_old_code(proof: Any) -> None:
    breaks = compat_breaks(proof["compat_original"], expected=True)
    broken = {b["table"].split("_", 2)[1] for b in breaks}
    assert {"rename", "db"} <= broken  # rename_* apps and c_db_column


# --- which renames the planner keeps, offline (no database) -------------------------


def _state(*models: Any) -> Any:
    from django.db.migrations.state import ModelState, ProjectState

    state = ProjectState()
    for name, fields, options in models:
        state.add_model(ModelState("shop", name, fields, options))
    return state


def _plan(op: Any, state: Any) -> Any:
    from schemaops.remedy.planner import plan_operation

    return plan_operation(op, "shop", state)


def _shop(m2m: Any = None, options: dict[str, Any] | None = None, tag_m2m: Any = None) -> Any:
    from django.db import models

    order = [
        ("id", models.BigAutoField(primary_key=True)),
        ("code", models.CharField(max_length=20)),
        ("kept", models.CharField(max_length=20, db_column="kept_col")),
    ]
    if m2m is not None:
        order.append(("tags", m2m))
    tag = [("id", models.BigAutoField(primary_key=True))]
    if tag_m2m is not None:
        tag.append(("orders", tag_m2m))
    return _state(("Order", order, options or {}), ("Tag", tag, {}))


def test_rename_field_keeps_the_column_as_makemigrations_writes_it() -> None:
    from django.db import migrations

    remedy = _plan(migrations.RenameField("order", "code", "reference"), _shop())
    assert remedy is not None and remedy.kind == "keep-database-name"
    (step,) = remedy.steps
    (split,) = step.operations
    assert split.database_operations == []
    alter, rename = split.state_operations
    assert (alter.name, alter.field.db_column) == ("code", "code")
    assert (rename.old_name, rename.new_name) == ("code", "reference")
    assert 'db_column="code"' in remedy.instructions[0]
    assert "backfill" in remedy.instructions[1], "the expand/contract way, as prose"


@pytest.mark.parametrize(
    ("op", "why"),
    [
        ("RenameField:kept", "db_column keeps the column already"),
        ("RenameField:through", "a through model's table is not named after the field"),
        ("RenameModel:db_table", "db_table keeps the table already"),
        ("AlterField:same", "the column keeps its name"),
    ],
)
def test_renames_the_planner_does_not_keep(op: str, why: str) -> None:
    from django.db import migrations, models

    state = _shop(m2m=models.ManyToManyField("shop.tag"))
    operation: Any = migrations.RenameField("order", op.split(":")[1], "renamed")
    if op == "RenameField:through":
        state = _shop(m2m=models.ManyToManyField("shop.tag", through="shop.OrderTag"))
        operation = migrations.RenameField("order", "tags", "renamed")
    if op == "RenameModel:db_table":
        state = _shop(options={"db_table": "orders"})
        operation = migrations.RenameModel("Order", "Purchase")
    if op == "AlterField:same":
        operation = migrations.AlterField("order", "code", models.CharField(max_length=20))
    remedy = _plan(operation, state)
    assert remedy is None or remedy.kind != "keep-database-name", why


def test_rename_of_a_many_to_many_field_keeps_its_join_table() -> None:
    from django.db import migrations, models

    state = _shop(m2m=models.ManyToManyField("shop.tag"))
    remedy = _plan(migrations.RenameField("order", "tags", "labels"), state)
    assert remedy is not None and remedy.kind == "keep-database-name"
    (split,) = remedy.steps[0].operations
    alter, rename = split.state_operations
    assert (alter.name, alter.field.db_table) == ("tags", "shop_order_tags")
    assert (rename.old_name, rename.new_name) == ("tags", "labels")
    assert 'db_table="shop_order_tags"' in remedy.instructions[0]
    pinned = _shop(m2m=models.ManyToManyField("shop.tag", db_table="order_tags"))
    assert _plan(migrations.RenameField("order", "tags", "labels"), pinned) is None


def test_rename_model_without_join_tables_keeps_the_table() -> None:
    from django.db import migrations

    remedy = _plan(migrations.RenameModel("Order", "Purchase"), _shop())
    assert remedy is not None
    (split,) = remedy.steps[0].operations
    rename, table = split.state_operations
    assert (rename.new_name, table.table) == ("Purchase", "shop_order")
    assert 'db_table = "shop_order"' in remedy.instructions[0]


def test_alter_field_changing_more_than_the_name_keeps_the_rest_planned() -> None:
    from django.db import migrations, models

    field = models.CharField(max_length=20, db_column="ref", db_index=True)
    remedy = _plan(migrations.AlterField("order", "code", field), _shop())
    assert remedy is not None
    assert remedy.kind.startswith("keep-database-name+concurrent-index")
    assert 'db_column="code"' in remedy.instructions[0]


def test_a_rename_on_a_table_created_in_the_same_migration_is_left_alone() -> None:
    from django.db import migrations

    from schemaops.remedy.planner import PlanContext, plan_operation

    op = migrations.RenameField("order", "code", "reference")
    assert plan_operation(op, "shop", _shop(), PlanContext(new_tables={"shop_order"})) is None
    assert plan_operation(op, "shop", _shop(), PlanContext(new_tables={"shop_tag"})) is not None
