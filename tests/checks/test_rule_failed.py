"""SO905: a rule that raises on an operation is a finding there, and the run goes on."""

from __future__ import annotations

from django.db import migrations, models
from django.db.migrations.operations.base import Operation
from lintkit import codes, lint
from models import order_model

from schemaops.config import Config
from schemaops.rules import Rule


class Broken(Rule):
    code = "SO999"
    name = "broken-rule"
    summary = "raises"
    operations = (migrations.AddField,)

    def check_operation(self, ctx):
        return ctx.operation.field.no_such_attribute


def _lint_with(rules, operations, setup):
    from lintkit import APP, FakeLoader, make_migration

    from schemaops.checks import lookup
    from schemaops.linter import Linter

    first = make_migration("0001_initial", setup)
    second = make_migration("0002_note", operations, dependencies=[(APP, "0001_initial")])
    linter = Linter(FakeLoader([first, second]), Config(), rules=[*rules, lookup("SO905")()])
    return linter.run({(APP, "0002_note")}).findings


def test_a_crashing_rule_becomes_an_so904_finding_on_that_operation():
    note = migrations.AddField("order", "note", models.TextField(null=True))
    findings = _lint_with([Broken()], [note], [order_model()])
    failed = [f for f in findings if f.code == "SO905"]
    assert len(failed) == 1
    assert failed[0].operation == 0 and failed[0].migration == "0002_note"
    assert failed[0].message.startswith(
        "rule SO999 broken-rule could not check this operation (AttributeError:"
    )
    assert "--ignore SO999" in failed[0].recipe


def test_the_other_rules_still_check_the_migration():
    from schemaops.checks import lookup

    drop = migrations.RemoveField("order", "legacy")
    note = migrations.AddField("order", "note", models.TextField(null=True))
    findings = _lint_with([Broken(), lookup("SO101")()], [note, drop], [order_model()])
    assert sorted(f.code for f in findings) == ["SO101", "SO905"]


class ExplodingDeconstruct(Operation):
    """A custom operation whose deconstruct() raises: its SQL and recipes cannot be built."""

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute("ALTER TABLE shop_order DROP COLUMN legacy")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def deconstruct(self):
        raise RuntimeError("cannot deconstruct")


def test_odd_runsql_is_one_so901_finding_not_a_crash():
    for sql in (42, [()], [(1, 2)], [None]):
        found = codes(lint([migrations.RunSQL(sql)], setup=[order_model()], config=Config()))
        assert found.count("SO901") == 1, (sql, found)
        assert "SO905" not in found, (sql, found)


def test_a_custom_operation_whose_deconstruct_raises_is_checked_without_crashing():
    found = codes(lint([ExplodingDeconstruct()], setup=[order_model()], config=Config()))
    # its generated SQL was read (the drop is flagged) and nothing crashed
    assert "SO101" in found and "SO905" not in found, found
