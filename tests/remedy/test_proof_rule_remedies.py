"""Proof of the planner remedies that took over the index/constraint rules' own recipes.

The rules SO201-SO205 and SO209 used to write their own recipes; now the
planner does, for Django's operations (tests/remedy/test_proof.py has the
common ones) and for ``RunSQL`` (:func:`schemaops.remedy.sql.plan_runsql`).
These cases are the shapes only the rules used to cover: statements in
``RunSQL``, unique_together, a positive-integer field's implicit CHECK, a
conditional unique constraint. Each is proven like the others: (a) check
clean, (b) applies and reverses, (c) no blocking lock past the budget nor a
scan under one, (d) the original's schema and state.
"""

from __future__ import annotations

from typing import Any

import proof_project
import pytest
from proof_support import assert_a_to_d, prove, scans_under_lock

# The remedy kinds tests/remedy/test_proof.py proves on both pairs, for more rules: once per CI.
pytestmark = pytest.mark.once

CASES: dict[str, tuple[str, str]] = {
    "runsql_index": (
        'migrations.RunSQL("CREATE INDEX %(app)s_n_idx ON %(app)s_item (name)", '
        'reverse_sql="DROP INDEX %(app)s_n_idx")',
        "concurrent-index",
    ),
    "runsql_fk": (
        'migrations.RunSQL("ALTER TABLE %(app)s_item ADD CONSTRAINT %(app)s_fk FOREIGN KEY '
        '(ref_id) REFERENCES %(app)s_parent (id)", reverse_sql="ALTER TABLE %(app)s_item '
        'DROP CONSTRAINT %(app)s_fk")',
        "not-valid-then-validate",
    ),
    "runsql_check": (
        'migrations.RunSQL("ALTER TABLE %(app)s_item ADD CONSTRAINT %(app)s_pos CHECK '
        '(qty >= 0)", reverse_sql="ALTER TABLE %(app)s_item DROP CONSTRAINT %(app)s_pos")',
        "not-valid-then-validate",
    ),
    "runsql_unique": (
        'migrations.RunSQL("ALTER TABLE %(app)s_item ADD CONSTRAINT %(app)s_uq UNIQUE '
        '(code)", reverse_sql="ALTER TABLE %(app)s_item DROP CONSTRAINT %(app)s_uq")',
        "unique-using-index",
    ),
    "unique_together": (
        'migrations.AlterUniqueTogether("item", {("code", "name")})',
        "unique-using-index",
    ),
    "positive_int": (
        'migrations.AlterField("item", "qty", models.PositiveIntegerField(null=True))',
        "not-valid-then-validate",
    ),
    "conditional_unique": (
        'migrations.AddConstraint("item", models.UniqueConstraint(fields=["code"], '
        'condition=models.Q(qty__gt=0), name="%(app)s_code_pos"))',
        "concurrent-index",
    ),
}
MARKERS = {
    "concurrent-index": ["CONCURRENTLY", "atomic = False"],
    "not-valid-then-validate": ["NOT VALID", "VALIDATE CONSTRAINT"],
    "unique-using-index": ["CREATE UNIQUE INDEX CONCURRENTLY", "UNIQUE USING INDEX"],
}


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    root = tmp_path_factory.mktemp("rules")
    return prove(root, proof_project.write(root, CASES), *proof_databases)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fix_writes_the_remedy_of_its_kind(proof: Any, case: str) -> None:
    files = proof["files"][f"c_{case}"]
    written = "\n".join(text for name, text in files.items() if name != "0001_initial")
    for marker in MARKERS[CASES[case][1]]:
        assert marker in written, f"{case}: {marker!r} missing from\n{written}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_to_d(proof: Any, case: str) -> None:
    assert_a_to_d(proof, f"c_{case}")


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_original_did_block(proof: Any, case: str) -> None:
    """The measure can fail: the original scanned under a write-blocking lock."""
    assert scans_under_lock(proof["original_trace"], f"c_{case}") != []


# --- which RunSQL the planner rewrites, offline ----------------------------------------


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("CREATE INDEX i ON t (a)", "concurrent-index"),
        ("DROP INDEX i", "concurrent-index"),
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", "not-valid-then-validate"),
        ("ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)", "unique-using-index"),
        ("ALTER TABLE t ALTER COLUMN a SET NOT NULL", "not-null-by-check"),
        # CONCURRENTLY inside a transaction fails: the migration is made non-atomic
        ("CREATE INDEX CONCURRENTLY i ON t (a)", "non-atomic-migration"),
        # an unnamed index gets PostgreSQL's own name, so IF NOT EXISTS finds a retry's
        ("CREATE INDEX ON t (a)", "concurrent-index"),
        # statements that need no rewrite pass through in order (DROP COLUMN is SO101's)
        ("CREATE INDEX i ON t (a); ALTER TABLE t DROP COLUMN b", "concurrent-index"),
        # nothing to rewrite, or what the rewrite cannot make whole: the rules' advice stands
        ("ALTER TABLE t ADD CHECK (a > 0)", None),  # VALIDATE needs a name
        ("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0) NOT VALID", None),
    ],
)
def test_runsql_planned_only_when_the_rewrite_is_whole(sql: str, kind: str | None) -> None:
    from django.db import migrations
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import plan_operation

    remedy = plan_operation(migrations.RunSQL(sql, migrations.RunSQL.noop), "shop", ProjectState())
    assert (remedy.kind if remedy else None) == kind


def test_runsql_remedy_keeps_the_users_reverse_and_undoes_its_own() -> None:
    from django.db import migrations

    from schemaops.remedy.sql import plan_runsql

    remedy = plan_runsql(
        migrations.RunSQL(
            "ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)", "ALTER TABLE t DROP CONSTRAINT u"
        )
    )
    assert remedy is not None
    expand = remedy.steps[0].operations[0]
    assert expand.reverse_sql == [
        "ALTER TABLE t DROP CONSTRAINT u",
        "DROP INDEX CONCURRENTLY IF EXISTS u",
    ]
    assert remedy.steps[0].atomic is False


def test_removing_a_many_to_many_field_relaxes_no_column() -> None:
    """Found by bench/remedy_sample.py: the join table has no column to DROP NOT NULL."""
    from django.db import migrations, models
    from django.db.migrations.state import ModelState, ProjectState

    state = ProjectState()
    state.add_model(ModelState("shop", "Tag", [("id", models.BigAutoField(primary_key=True))]))
    fields = [
        ("id", models.BigAutoField(primary_key=True)),
        ("tags", models.ManyToManyField("shop.tag")),
        ("code", models.CharField(max_length=5)),
    ]
    state.add_model(ModelState("shop", "Order", fields))
    from schemaops.remedy.planner import plan_operation

    m2m = plan_operation(migrations.RemoveField("order", "tags"), "shop", state)
    assert m2m is not None and m2m.kind == "expand-contract"
    assert m2m.steps[0].operations[0].database_operations == []
    assert "DROP TABLE" in str(m2m.steps[1].operations[0].sql)
    column = plan_operation(migrations.RemoveField("order", "code"), "shop", state)
    assert column is not None
    assert "DROP NOT NULL" in str(column.steps[0].operations[0].database_operations[0].sql)
