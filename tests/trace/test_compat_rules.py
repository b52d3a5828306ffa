"""Every additive-only rule's claim, proven by replaying the rollout on a real server.

For each rule of category ``additive`` (SO1xx: "the old or the new code breaks
during the rollout", and SO106's error: a NOT NULL column left behind), one
representative migration is linted and then replayed by ``schemaops trace
--compat``; ``schemaops.trace.compat_merge`` must confirm the finding with a
break blamed on the same operation. A rule without a case fails
``test_every_additive_rule_has_a_replayed_case``.
"""

from __future__ import annotations

from typing import Any

import pytest
from compat_support import build_migrations, memory_loader, replay
from django.db import migrations, models
from lintkit import APP, order_model

from schemaops.config import Config
from schemaops.findings import Finding, Severity
from schemaops.trace.compat_merge import additive_codes, claims_break, merge_compat

# The replay per rule: once per CI (tests/trace/test_compat_cli.py and test_compat_replay.py run
# the replay on both pairs).
pytestmark = pytest.mark.once


class StatusField(models.CharField):
    """A column of the enum type ``order_status`` (created by the case's setup)."""

    def db_type(self, connection: Any) -> str:
        return "order_status"


def _sql(text: str) -> Any:
    return migrations.RunSQL(text, migrations.RunSQL.noop)


DAILY = [
    _sql("CREATE SCHEMA reporting"),
    migrations.CreateModel(
        "Daily",
        [("id", models.BigAutoField(primary_key=True)), ("n", models.IntegerField())],
        options={"db_table": 'reporting"."daily'},
    ),
]
STATUS = StatusField(max_length=9, choices=[("new", "new"), ("paid", "paid")])

# rule code -> (setup, operations under test (pre-deploy), the release the rule says breaks)
CASES: dict[str, tuple[list[Any], list[Any], str]] = {
    "SO101": ([order_model()], [migrations.RemoveField("order", "legacy")], "old"),
    "SO102": ([order_model()], [migrations.DeleteModel("Order")], "old"),
    "SO103": ([order_model()], [migrations.RenameField("order", "legacy", "reference")], "old"),
    "SO104": ([order_model()], [migrations.RenameModel("Order", "Purchase")], "old"),
    "SO105": (
        [order_model()],
        [
            migrations.AlterField(
                "order", "legacy", models.CharField(max_length=20, null=True, db_column="ref")
            )
        ],
        "old",
    ),
    "SO106": (
        [order_model()],
        [
            migrations.SeparateDatabaseAndState(
                state_operations=[migrations.RemoveField("order", "code")]
            )
        ],
        "new",
    ),
    "SO107": (
        [order_model()],
        [migrations.AddField("order", "status", models.CharField(max_length=9, default="new"))],
        "old",
    ),
    "SO110": (
        [order_model()],
        [migrations.AlterField("order", "code", models.CharField(max_length=20, null=True))],
        "old",
    ),
    "SO116": (
        [order_model()],
        [migrations.AddField("order", "note", models.TextField(null=True))],
        "new",
    ),
    "SO112": (
        [order_model(("state", models.CharField(max_length=9, db_default="new")))],
        [migrations.AlterField("order", "state", models.CharField(max_length=9))],
        "old",
    ),
    "SO113": (
        [_sql("CREATE TYPE order_status AS ENUM ('new', 'paid')"), order_model(("status", STATUS))],
        [_sql("ALTER TYPE order_status RENAME VALUE 'new' TO 'fresh'")],
        "old",
    ),
    "SO114": (DAILY, [_sql("ALTER SCHEMA reporting RENAME TO reports")], "old"),
    "SO115": (DAILY, [_sql("DROP SCHEMA reporting CASCADE")], "old"),
}


# cases whose migration under test is post-deploy
POST = {"SO116"}


def lint(found: list[Any], loader: Any) -> list[Finding]:
    from schemaops.linter import Linter

    selected = {(m.app_label, m.name) for m in found[1:]}
    result = Linter(loader, Config(), pg_version=15).run(selected)
    return [f for f in result.findings if not f.suppressed]


@pytest.mark.parametrize("code", sorted(CASES))
def test_the_replay_confirms_the_rule(code):
    setup, operations, release = CASES[code]
    phase = "post" if code in POST else "pre"
    found = build_migrations(setup, operations, phase=phase)
    findings = lint(found, memory_loader(found))
    claims = [f for f in findings if f.code == code and claims_break(f, {code})]
    assert claims, f"{code} made no finding for its representative case"
    compat, loader = replay(setup, operations, phase=phase)
    assert compat.error is None and not compat.notes, (compat.error, compat.notes)
    assert {b.release for b in compat.breaks} >= {release}
    merge_compat(findings, compat, loader)
    verdicts = [f.evidence.get("compat", "not replayed") for f in claims]
    assert all(v.startswith("confirmed") for v in verdicts), verdicts
    assert all(f.evidence["statement"] for f in findings if f.code in ("SO803", "SO804"))


def test_every_additive_rule_has_a_replayed_case():
    missing = additive_codes() - set(CASES)
    assert not missing, f"additive rules without a replayed rollout case: {sorted(missing)}"


def test_a_claim_the_replay_does_not_see_is_contradicted():
    """A claim held against a rollout that works (a nullable column added): contradicted."""
    setup = CASES["SO101"][0]
    compat, loader = replay(
        setup, [migrations.AddField("order", "note", models.TextField(null=True))]
    )
    assert compat.breaks == []
    claim = Finding(
        "SO101", "drop-column", Severity.ERROR, "drop", app=APP, migration="0002_change"
    )
    claim.operation = 0
    merge_compat([claim], compat, loader)
    assert claim.evidence["compat"].startswith("contradicted")
    assert claim.message.endswith("[compat: old and new code worked through the replayed rollout]")
