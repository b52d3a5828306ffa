"""A rule that raises names itself and the way around it, in one line, exit 2."""

from __future__ import annotations

import pytest
from django.db import migrations, models
from lintkit import FakeLoader, make_migration

from schemaops.config import Config
from schemaops.errors import RuleCrashed
from schemaops.linter import Linter
from schemaops.rules import Rule


class Broken(Rule):
    code = "SO999"
    name = "broken-rule"
    summary = "raises"
    operations = (migrations.AddField,)

    def check_operation(self, ctx):
        return ctx.operation.field.no_such_attribute


def test_a_crashing_rule_is_named_with_the_migration_and_the_workaround():
    first = make_migration(
        "0001_initial",
        [migrations.CreateModel("Order", [("id", models.BigAutoField(primary_key=True))])],
    )
    second = make_migration(
        "0002_note",
        [migrations.AddField("order", "note", models.TextField(null=True))],
        dependencies=[("shop", "0001_initial")],
    )
    linter = Linter(FakeLoader([first, second]), Config(), rules=[Broken()])
    with pytest.raises(RuleCrashed) as info:
        linter.run({("shop", "0002_note")})
    message = str(info.value)
    assert message.startswith("rule SO999 broken-rule failed on shop.0002_note (AttributeError:")
    assert "--ignore SO999" in message
    assert info.value.exit_code == 2
