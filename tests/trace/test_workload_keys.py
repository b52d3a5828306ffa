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
