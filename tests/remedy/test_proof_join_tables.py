"""Proof of ``RenameModel`` with auto-created many-to-many join tables kept as they are.

As in test_proof_rename.py, the point is that the database keeps its names:
(d) is that the schema after the fixed migrations equals the schema before
them (no table, no join-table column renamed), while the original did rename;
the project state gains the ``db_table`` and the explicit through model; and
the models.py the remedy writes out makes ``makemigrations --check`` clean,
where the renamed models without it do not. ``trace --compat`` replays the
rollout: old and new code work with the fix and break with the original.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import proof_project
import pytest
from proof_support import (
    assert_models_py_needs_the_lines,
    compat_breaks,
    prove_written_beside_original,
    scans_under_lock,
    written_files,
)

from schemaops.remedy.verify import blocking_holds

# case -> (operation, kind): Item has a many-to-many field f to Parent (join table item_f)
CASES: dict[str, tuple[str, str]] = {
    "owner": ('migrations.RenameModel("item", "Article")', "keep-database-name"),
    "target": ('migrations.RenameModel("parent", "Owner")', "keep-database-name"),
}
M2M = 'models.ManyToManyField("%(app)s.parent", related_name="items_f")'

# The models.py after the rename; {keep}: the lines the remedy states.
MODELS = """from django.db import models


class {parent}(models.Model):
    id = models.BigAutoField(primary_key=True, serialize=False)
    title = models.CharField(max_length=40, null=True)
{parent_meta}

class Extra(models.Model):
    id = models.BigAutoField(primary_key=True, serialize=False)
    note = models.TextField(null=True)


class {item}(models.Model):
    id = models.BigAutoField(primary_key=True, serialize=False)
    name = models.CharField(max_length=40, null=True)
    qty = models.IntegerField(null=True)
    code = models.CharField(max_length=20, null=True)
    legacy = models.CharField(max_length=20, default="x")
    ref = models.ForeignKey("{parent}", null=True, on_delete=models.CASCADE)
    f = models.ManyToManyField("{parent}", related_name="items_f"{through})

    class Meta:
        indexes = [models.Index(fields=["qty"], name="{app}_qty_idx")]{item_meta}
{through_model}"""

THROUGH = """

class {name}(models.Model):
    item = models.ForeignKey("{item}", on_delete=models.CASCADE)
    parent = models.ForeignKey("{parent}", on_delete=models.CASCADE)

    class Meta:
        db_table = "{app}_item_f"
        unique_together = [("item", "parent")]
"""


def models_py(case: str, app: str, keep: bool) -> str:
    """The models as the user renamed them; ``keep``: with the remedy's lines."""
    item, parent = ("Article", "Parent") if case == "owner" else ("Item", "Owner")
    through = "ArticleF" if case == "owner" else "ItemF"
    values = {"item": item, "parent": parent, "app": app, "parent_meta": "", "item_meta": ""}
    values.update(through="", through_model="")
    if keep:
        values["through"] = f', through="{through}"'
        values["through_model"] = THROUGH.format(name=through, item=item, parent=parent, app=app)
        kept = "item" if case == "owner" else "parent"
        table = f'db_table = "{app}_{kept}"'
        if case == "owner":
            values["item_meta"] = f"\n        {table}"
        else:
            values["parent_meta"] = f"\n    class Meta:\n        {table}\n"
    return MODELS.format(**values)


def _write(root: Path) -> list[str]:
    apps = proof_project.write(root, CASES, extra_fields={case: M2M for case in CASES})
    proof_project.declared_as_in_models_py(root, apps)
    return apps


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    return prove_written_beside_original(tmp_path_factory, "join_tables", _write, proof_databases)


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_shows_the_planned_remedy_on_the_original(proof: Any, case: str) -> None:
    report = proof["original_check"]
    mine = [f for f in report["findings"] if f["app"] == f"c_{case}" and f["severity"] == "error"]
    assert mine and all(f["remedy"] for f in mine)
    remedy = report["remedies"][mine[0]["remedy"]]
    assert remedy["kind"] == "keep-database-name"
    assert remedy["files"], "files, not advice"
    assert f"c_{case}_item_f" in remedy["summary"]


@pytest.mark.parametrize("case", sorted(CASES))
def test_fix_writes_the_through_model_in_the_state_only(proof: Any, case: str) -> None:
    written = written_files(proof, f"c_{case}")
    assert "database_operations" not in written, "no database work (the writer omits [])"
    assert "migrations.CreateModel(" in written and "through=" in written
    assert f"'db_table': 'c_{case}_item_f'" in written
    assert "RunSQL" not in written
    assert "#     class " in written, "the through model for models.py is written out"


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_b_c_clean_applies_reverses_and_blocks_nothing(proof: Any, case: str) -> None:
    app = f"c_{case}"
    errors = [f for f in proof["findings"] if f["app"] == app and f["severity"] == "error"]
    assert errors == [], "(a)"
    assert proof["reversed"][app] == proof["initial"][app]
    mine = {"migrations": [m for m in proof["trace"]["migrations"] if m["app"] == app]}
    assert mine["migrations"] and all(not m["error"] for m in mine["migrations"])
    assert blocking_holds(mine) == []
    assert scans_under_lock(proof["trace"], app) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_d_the_database_keeps_its_names(proof: Any, case: str) -> None:
    app = f"c_{case}"
    assert proof["fixed"][app] == proof["initial"][app], "nothing renamed"

    def join_columns(which: str) -> set[tuple[str, str]]:
        return {(c[0], c[1]) for c in proof[which][app]["columns"] if c[0] == f"{app}_item_f"}

    assert {column for _, column in join_columns("initial")} == {"id", "item_id", "parent_id"}
    assert join_columns("reference") != join_columns("initial"), "the original did rename"


@pytest.mark.parametrize("case", sorted(CASES))
def test_d_state_gains_only_the_kept_table_and_the_through_model(proof: Any, case: str) -> None:
    app = f"c_{case}"
    mine = {k: v for k, v in proof["state"].items() if k.startswith(f"{app}.")}
    original = {k: v for k, v in proof["original_state"].items() if k.startswith(f"{app}.")}
    through = f"{app}.articlef" if case == "owner" else f"{app}.itemf"
    assert mine.keys() == original.keys() | {through}
    assert f"'{app}_item_f'" in mine[through]


@pytest.mark.parametrize("case", sorted(CASES))
def test_makemigrations_is_clean_with_the_stated_models(proof: Any, case: str) -> None:
    app = f"c_{case}"
    without, with_ = (models_py(case, app, keep=keep) for keep in (False, True))
    assert_models_py_needs_the_lines(proof["root"], app, without, with_)


def test_the_stated_models_are_the_remedys_own_lines(proof: Any) -> None:
    """What the test's models.py declares is what the remedy told the user to write."""
    remedy = next(
        r for r in proof["original_check"]["remedies"].values() if "c_owner_item_f" in r["summary"]
    )
    text = "\n".join(remedy["instructions"])
    assert 'through="ArticleF"' in text
    assert '        item = models.ForeignKey("Article", on_delete=models.CASCADE)' in text
    assert '        parent = models.ForeignKey("Parent", on_delete=models.CASCADE)' in text
    assert 'db_table = "c_owner_item_f"' in text
    assert 'unique_together = [("item", "parent")]' in text


def test_compat_old_and_new_code_work_with_the_fix(proof: Any) -> None:
    assert compat_breaks(proof["compat"], expected=False) == []


def test_compat_the_original_renames_break_the_old_code(proof: Any) -> None:
    assert compat_breaks(proof["compat_original"], expected=True)


# --- which renames are planned, offline: a firing and a non-firing case -------------


def _state(tag_m2m: Any = None, order_m2m: Any = None) -> Any:
    from django.db import models
    from django.db.migrations.state import ModelState, ProjectState

    state = ProjectState()
    order = [("id", models.BigAutoField(primary_key=True))]
    tag = [("id", models.BigAutoField(primary_key=True))]
    if order_m2m is not None:
        order.append(("tags", order_m2m))
    if tag_m2m is not None:
        tag.append(("orders", tag_m2m))
    state.add_model(ModelState("shop", "Order", order, {}))
    state.add_model(ModelState("shop", "Tag", tag, {}))
    return state


def _plan(state: Any) -> Any:
    from django.db import migrations

    from schemaops.remedy.planner import plan_operation

    return plan_operation(migrations.RenameModel("Order", "Purchase"), "shop", state)


@pytest.mark.parametrize("side", ["own", "pointing"])
def test_join_tables_named_after_the_model_become_through_models(side: str) -> None:
    from django.db import models

    if side == "own":
        state = _state(order_m2m=models.ManyToManyField("shop.tag"))
    else:
        state = _state(tag_m2m=models.ManyToManyField("shop.order"))
    remedy = _plan(state)
    assert remedy is not None and remedy.kind == "keep-database-name"
    (split,) = remedy.steps[0].operations
    assert split.database_operations == []
    kinds = [type(o).__name__ for o in split.state_operations]
    assert kinds == ["CreateModel", "AlterField", "RenameModel", "AlterModelTable"]
    create = split.state_operations[0]
    table = "shop_order_tags" if side == "own" else "shop_tag_orders"
    assert create.options["db_table"] == table
    assert [name for name, _ in create.fields] == (
        ["id", "order", "tag"] if side == "own" else ["id", "tag", "order"]
    )
    assert split.state_operations[1].field.remote_field.through == f"shop.{create.name}"


@pytest.mark.parametrize(
    ("shape", "why"),
    [
        ("self", "two columns named after the model need through_fields"),
        ("explicit", "an explicit through model is not renamed: no join table to keep"),
    ],
)
def test_join_tables_not_planned(shape: str, why: str) -> None:
    from django.db import models

    if shape == "self":
        remedy = _plan(_state(order_m2m=models.ManyToManyField("shop.order")))
        assert remedy is None or remedy.kind != "keep-database-name", why
    else:
        state = _state(order_m2m=models.ManyToManyField("shop.tag", through="shop.Link"))
        remedy = _plan(state)
        assert remedy is not None and "CreateModel" not in str(remedy.steps[0].operations), why


def test_a_join_table_named_by_db_table_keeps_that_name() -> None:
    from django.db import models

    remedy = _plan(_state(order_m2m=models.ManyToManyField("shop.tag", db_table="order_tag_links")))
    assert remedy is not None
    create, alter = remedy.steps[0].operations[0].state_operations[:2]
    assert create.options["db_table"] == "order_tag_links"
    assert "db_table" not in alter.field.deconstruct()[3], "the through model names it now"
