"""Which foreign keys get a parent row of their own per inserted row (trace --compat)."""

from __future__ import annotations

from typing import Any

import pytest


def _model(unique_together: set[tuple[str, str]]) -> Any:
    from django.db import models
    from django.db.migrations.state import ModelState, ProjectState

    state = ProjectState()
    state.add_model(ModelState("wk", "Tag", [("id", models.BigAutoField(primary_key=True))], {}))
    state.add_model(ModelState("wk", "Item", [("id", models.BigAutoField(primary_key=True))], {}))
    fields = [
        ("id", models.BigAutoField(primary_key=True)),
        ("item", models.ForeignKey("wk.item", models.CASCADE)),
        ("tag", models.ForeignKey("wk.tag", models.CASCADE)),
        ("note", models.CharField(max_length=5)),
    ]
    state.add_model(ModelState("wk", "Link", fields, {"unique_together": unique_together}))
    return state.apps.get_model("wk", "Link")


@pytest.mark.parametrize(
    ("together", "keyed"),
    [
        ({("item", "tag")}, {"item"}),  # a join table: each row's pair must differ
        ({("item", "note")}, set()),  # a sample value keeps the pair distinct already
        (set(), set()),
    ],
    ids=["foreign-keys-only", "with-a-plain-field", "none"],
)
def test_a_unique_set_of_foreign_keys_only_gets_one_keyed(
    together: set[tuple[str, str]], keyed: set[str]
) -> None:
    from schemaops.trace.workload import _keying_relations

    assert _keying_relations(_model(together)) == keyed


def test_a_multi_table_child_never_takes_a_row_kept_for_the_other_release(
    scratch_db: dict[str, str],
) -> None:
    """A child row's DELETE deletes its parent row: exercising the child must not pick the
    row another model's exercise kept for the other release to read back."""
    from django.db import models
    from django.db.migrations.state import ModelState, ProjectState

    from schemaops.trace.runner import pointed_at
    from schemaops.trace.workload import exercise, forget_kept

    state = ProjectState()
    state.add_model(ModelState("wk", "Order", [("id", models.BigAutoField(primary_key=True))]))
    link = models.OneToOneField("wk.order", models.CASCADE, parent_link=True, primary_key=True)
    state.add_model(ModelState("wk", "Special", [("order_ptr", link)], bases=("wk.order",)))
    order, special = (state.apps.get_model("wk", name) for name in ("Order", "Special"))
    with pointed_at("default", scratch_db) as connection:
        with connection.schema_editor() as editor:
            editor.create_model(order)
            editor.create_model(special)
        forget_kept()
        kept = exercise(order, "default").kept
        assert exercise(special, "default").failure is None
        assert order._base_manager.filter(pk=kept).exists()
