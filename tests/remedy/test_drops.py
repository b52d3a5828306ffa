"""The planner's choices for a ``RunSQL`` of drops (schemaops.remedy.drops), offline.

Each a firing and a non-firing case; tests/remedy/test_proof_sql.py proves the written
files on PostgreSQL (drop_raw_column, drop_field_column, drop_raw_table).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations, models
from django.db.migrations.state import ModelState, ProjectState

from schemaops.remedy.planner import PlanContext, plan_operation

APP = "shop"


def _state() -> ProjectState:
    """shop.Item (legacy and code NOT NULL without a database default, legacy with a
    Python default; note nullable; tags M2M to Tag), shop.Archive (nothing points at
    it), shop.Special (a child of Item), other.Thing (another app's)."""
    state = ProjectState()
    for name in ("Tag", "Archive"):
        state.add_model(ModelState(APP, name, [("id", models.BigAutoField(primary_key=True))]))
    item = ModelState(
        APP,
        "Item",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("legacy", models.CharField(max_length=20, default="x")),
            ("code", models.CharField(max_length=10)),
            ("note", models.TextField(null=True)),
            ("tags", models.ManyToManyField("tag")),
        ],
    )
    state.add_model(item)
    parent = models.OneToOneField("item", models.CASCADE, parent_link=True, primary_key=True)
    state.add_model(ModelState(APP, "Special", [("item_ptr", parent)], bases=("shop.item",)))
    other = [("id", models.BigAutoField(primary_key=True)), ("x", models.IntegerField())]
    state.add_model(ModelState("other", "Thing", other))
    return state


def _plan(op: Any, *, post: bool = False, new_tables: set[str] | None = None) -> Any:
    context = PlanContext(post_phase=post, new_tables=new_tables or set())
    return plan_operation(op, APP, _state(), context)


def _statements(remedy: Any) -> list[tuple[str, bool, Any]]:
    """(role, post, SQL) of each migration; a SeparateDatabaseAndState's database SQL."""
    out = []
    for spec in remedy.steps:
        (op,) = spec.operations
        if isinstance(op, migrations.SeparateDatabaseAndState):
            op = op.database_operations[0] if op.database_operations else op
        out.append((spec.role, spec.post, getattr(op, "sql", None)))
    return out


def test_a_column_the_models_no_longer_have_is_relaxed_then_dropped_after_the_deploy() -> None:
    remedy = _plan(migrations.RunSQL("ALTER TABLE shop_item DROP COLUMN old_code", "SELECT 1"))
    assert remedy.kind == "drop-after-deploy"
    assert _statements(remedy) == [
        ("expand", False, ["ALTER TABLE shop_item ALTER COLUMN old_code DROP NOT NULL"]),
        ("contract", True, "ALTER TABLE shop_item DROP COLUMN old_code"),
    ]
    expand, contract = (spec.operations[0] for spec in remedy.steps)
    assert (
        expand.database_operations[0].reverse_sql == ""
    )  # its NOT NULL was never known: nothing to restore
    assert contract.reverse_sql == "SELECT 1"  # the user's reverse, with the drop


def test_the_runsqls_own_state_removal_stays_before_the_deploy() -> None:
    remove = migrations.RemoveField("item", "code")
    op = migrations.RunSQL("ALTER TABLE shop_item DROP COLUMN code", state_operations=[remove])
    remedy = _plan(op)
    expand, contract = remedy.steps
    (separate,) = expand.operations
    (relax,) = separate.database_operations
    assert relax.sql == ["ALTER TABLE shop_item ALTER COLUMN code DROP NOT NULL"]
    assert relax.reverse_sql == ["ALTER TABLE shop_item ALTER COLUMN code SET NOT NULL"]
    assert separate.state_operations == [remove] and contract.operations[0].state_operations == []
    assert contract.post and not expand.post
    assert remedy.instructions == []  # the user's migration removes it already


def test_a_field_the_models_still_have_leaves_the_state_before_the_deploy() -> None:
    remedy = _plan(migrations.RunSQL("ALTER TABLE shop_item DROP COLUMN legacy", ""))
    (separate,) = remedy.steps[0].operations
    (removal,) = separate.state_operations
    assert (removal.model_name, removal.name) == ("item", "legacy")
    # its constant default as the column's DEFAULT: the old code never reads a NULL
    (keep,) = separate.database_operations
    assert keep.sql == ["ALTER TABLE shop_item ALTER COLUMN legacy SET DEFAULT 'x'"]
    assert keep.reverse_sql == ["ALTER TABLE shop_item ALTER COLUMN legacy DROP DEFAULT"]
    assert remedy.instructions == [
        "delete the field item.legacy from shop/models.py (the state no longer has it)"
    ]


def test_a_model_nothing_points_at_leaves_the_state_before_its_table_is_dropped() -> None:
    remedy = _plan(migrations.RunSQL("DROP TABLE shop_archive", ""))
    (separate,) = remedy.steps[0].operations
    assert [type(op).__name__ for op in separate.state_operations] == ["DeleteModel"]
    assert separate.database_operations == []
    assert _statements(remedy)[1] == ("contract", True, "DROP TABLE shop_archive")


def test_a_nullable_field_needs_no_relaxing() -> None:
    op = migrations.RunSQL(
        "ALTER TABLE shop_item DROP COLUMN note",
        state_operations=[migrations.RemoveField("item", "note")],
    )
    expand, contract = _plan(op).steps
    (separate,) = expand.operations
    assert contract.post
    assert isinstance(separate, migrations.SeparateDatabaseAndState)
    assert separate.database_operations == [] and len(separate.state_operations) == 1


def test_a_table_no_model_uses_is_dropped_after_the_deploy() -> None:
    remedy = _plan(migrations.RunSQL("DROP TABLE shop_archive_2019", migrations.RunSQL.noop))
    assert _statements(remedy) == [("contract", True, "DROP TABLE shop_archive_2019")]


def test_what_the_state_cannot_drop_alone_is_not_moved() -> None:
    for sql in (
        "DROP TABLE shop_item",  # Item has a many-to-many field; Special inherits from it
        "DROP TABLE shop_tag",  # Item.tags points at Tag
        "DROP TABLE shop_item_tags",  # Item.tags' join table
        "ALTER TABLE shop_item DROP COLUMN id",  # Item's primary key
        "ALTER TABLE other_thing DROP COLUMN x",  # another app's
    ):
        remedy = _plan(migrations.RunSQL(sql, migrations.RunSQL.noop))
        assert remedy is None or remedy.kind != "drop-after-deploy", sql


def test_only_a_runsql_of_drops_in_a_pre_deploy_migration_on_old_tables_is_moved() -> None:
    drop = "ALTER TABLE shop_item DROP COLUMN old_code"
    assert _plan(migrations.RunSQL(drop, ""), post=True) is None  # where drops belong
    assert _plan(migrations.RunSQL(drop, ""), new_tables={"shop_item"}) is None
    mixed = _plan(migrations.RunSQL(f"{drop}; UPDATE shop_item SET note = ''", ""))
    assert mixed is None or mixed.kind != "drop-after-deploy"
