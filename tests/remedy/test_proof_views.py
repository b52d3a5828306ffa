"""Proof of the remedy of a ``RunSQL`` that changes a column views read, on the real PostgreSQL.

Each case's ``0001_initial`` also creates a view over its Item table (naming
``code``, or ``SELECT *``). The original ``0002`` fails to apply: PostgreSQL
refuses to retype or drop a column a view reads. ``schemaops fix`` drops the
views before the statement and re-creates them after, in one transaction;
the result must (a) pass ``check`` with no error, (b) apply (pre, then post)
on seeded tables and reverse to where it started, (c) hold no write-blocking
lock past the budget, and (d) end with the change made and every view back,
reading the changed table. Where the views cannot be re-created as they are
(a view naming the dropped column) nothing is planned: the rules' composed
recipe stays.
"""

from __future__ import annotations

import json
from typing import Any

import proof_project
import pytest
from proof_support import copy_of, migrate, run, schema, schemaops, seed

from schemaops.remedy.verify import blocking_holds

NAMED = "CREATE VIEW %(app)s_codes AS SELECT id, code FROM %(app)s_item"
STAR = "CREATE VIEW %(app)s_all AS SELECT * FROM %(app)s_item"


def runsql(sql: str, reverse: str) -> str:
    return f"migrations.RunSQL({sql!r}, reverse_sql={reverse!r})"


# case -> (the view, the RunSQL, post-deploy?, the view's name, the column that changes)
CASES: dict[str, tuple[str, str, bool, str, str]] = {
    "widen": (
        NAMED,
        runsql(
            "ALTER TABLE %(app)s_item ALTER COLUMN code TYPE varchar(50)",
            "ALTER TABLE %(app)s_item ALTER COLUMN code TYPE varchar(20)",
        ),
        False,
        "codes",
        "code",
    ),
    "drop_star": (  # a column only SQL knows (the model has none to break)
        "ALTER TABLE %(app)s_item ADD COLUMN extra text; " + STAR,
        runsql(
            "ALTER TABLE %(app)s_item DROP COLUMN extra",
            "ALTER TABLE %(app)s_item ADD COLUMN extra text",
        ),
        True,
        "all",
        "extra",
    ),
}


def _write(root: Any) -> list[str]:
    apps = proof_project.write(root, {c: (v[1], "views-recreated") for c, v in CASES.items()})
    for app, (view, _sql, post, *_) in zip(apps, CASES.values(), strict=True):
        path = root / app / "migrations" / "0001_initial.py"
        head, tail = path.read_text().rsplit("    ]\n", 1)
        create = f"        migrations.RunSQL({view.replace('%(app)s', app)!r}),\n"
        path.write_text(head + create + "    ]\n" + tail)
        if post:
            proof_project.post_deploy(root, [app])
    return apps


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    root = tmp_path_factory.mktemp("proof_views")
    apps = _write(root)
    original = copy_of(root, tmp_path_factory.mktemp("proof_views_original"))
    ref, db = proof_databases
    out: dict[str, Any] = {}
    report = schemaops(original, ref, "check", "--format", "json")
    out["original_check"] = json.loads(report.stdout)
    migrate(original, ref, *(f"{app}:0001_initial" for app in apps))
    out["original_migrate"] = {
        app: run(original, ref, "-m", "django", "migrate", app, "-v", "0") for app in apps
    }
    migrate(root, db, *(f"{app}:0001_initial" for app in apps))
    out["initial"] = {app: schema(db, app) for app in apps}
    seed(db, apps)
    fixed = schemaops(root, db, "fix")
    assert fixed.returncode == 0, fixed.stderr
    out["files"] = {
        a: "\n".join(p.read_text() for p in sorted((root / a / "migrations").glob("0002*.py")))
        for a in apps
    }
    checked = schemaops(root, db, "check", "--format", "json")
    out["findings"] = json.loads(checked.stdout)["findings"]
    traced = schemaops(root, db, "trace", "--rows", "300", "--format", "json", "-q")
    assert traced.returncode == 0, traced.stdout + traced.stderr
    out["trace"] = json.loads(traced.stdout)
    for phase in ("pre", "post"):
        done = schemaops(root, db, "migrate", "--phase", phase)
        assert done.returncode == 0, done.stdout + done.stderr
    out["fixed"] = {app: schema(db, app) for app in apps}
    migrate(root, db, *(f"{app}:0001_initial" for app in apps))
    out["reversed"] = {app: schema(db, app) for app in apps}
    return out


def _relation(proof: Any, which: str, case: str, relation: str) -> dict[str, Any]:
    """Column -> (type, nullable, default, length) of ``c_<case>_<relation>``."""
    app = f"c_{case}"
    name = f"{app}_{relation}"
    return {c[1]: c[2:] for c in proof[which][app]["columns"] if c[0] == name}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_original_fails_to_apply(proof: Any, case: str) -> None:
    """PostgreSQL refuses: the measure can fail."""
    done = proof["original_migrate"][f"c_{case}"]
    assert done.returncode != 0
    assert "depends on column" in done.stderr or "used by a view" in done.stderr, done.stderr


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_shows_the_planned_remedy_on_the_original(proof: Any, case: str) -> None:
    report = proof["original_check"]
    mine = [f for f in report["findings"] if f["app"] == f"c_{case}" and f["severity"] == "error"]
    assert "SO117" in {f["code"] for f in mine}
    assert all(f["remedy"] for f in mine)
    assert report["remedies"][mine[0]["remedy"]]["kind"] == "views-recreated"


@pytest.mark.parametrize("case", sorted(CASES))
def test_fix_drops_and_recreates_the_view_around_the_statement(proof: Any, case: str) -> None:
    app, view = f"c_{case}", CASES[case][3]
    text = proof["files"][app]
    drop, create = f"DROP VIEW IF EXISTS {app}_{view}", f"CREATE VIEW {app}_{view} AS SELECT"
    assert drop in text and create in text
    assert text.index(drop) < text.index("ALTER TABLE") < text.index(create)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_check_reports_no_error_on_the_result(proof: Any, case: str) -> None:
    mine = [f for f in proof["findings"] if f["app"] == f"c_{case}" and f["severity"] == "error"]
    assert mine == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_b_c_applies_reverses_and_blocks_nothing(proof: Any, case: str) -> None:
    app = f"c_{case}"
    assert proof["reversed"][app] == proof["initial"][app]
    mine = {"migrations": [m for m in proof["trace"]["migrations"] if m["app"] == app]}
    assert mine["migrations"] and all(not m["error"] for m in mine["migrations"])
    assert blocking_holds(mine) == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_d_the_change_is_made_and_the_view_is_back(proof: Any, case: str) -> None:
    view, column = CASES[case][3], CASES[case][4]
    table = _relation(proof, "fixed", case, "item")
    seen = _relation(proof, "fixed", case, view)
    before = _relation(proof, "initial", case, view)
    assert seen, "the view exists"
    if case == "widen":
        assert table[column][3] == 50 and seen[column][3] == 50, "retyped, in the view too"
        assert seen.keys() == before.keys()
    else:
        assert column not in table and column not in seen, "dropped, from the view too"
        assert seen.keys() == before.keys() - {column}


# -- the planner's choice, without a database: firing, and not (with the reason) ------------


def _plan(view: str, sql: str, *, why: bool = False) -> Any:
    """The planner's remedy of ``RunSQL(sql)`` after ``view``; ``why``: the reason the
    views cannot be re-created instead."""
    from django.db import migrations, models
    from django.db.migrations.state import ModelState, ProjectState

    from schemaops.remedy.planner import PlanContext, plan_operation
    from schemaops.remedy.sqlops import SqlFacts
    from schemaops.remedy.views import why_not_recreated

    state = ProjectState()
    fields = [
        ("id", models.BigAutoField(primary_key=True)),
        ("code", models.CharField(max_length=20, null=True)),
        ("qty", models.IntegerField(null=True)),
    ]
    state.add_model(ModelState("shop", "Item", fields, {}))
    facts = SqlFacts()
    facts.record(migrations.RunSQL(view))
    op = migrations.RunSQL(sql, migrations.RunSQL.noop)
    if why:
        return why_not_recreated(op, state, facts)
    return plan_operation(op, "shop", state, PlanContext(facts=facts, post_phase=True))


CODES = "CREATE VIEW codes AS SELECT id, code FROM shop_item"
EVERY = "CREATE VIEW every AS SELECT * FROM shop_item"


def test_a_widened_column_a_view_names_is_planned() -> None:
    remedy = _plan(CODES, "ALTER TABLE shop_item ALTER COLUMN code TYPE varchar(50)")
    assert remedy is not None and remedy.kind == "views-recreated"
    (run,) = remedy.steps[0].operations
    assert run.sql[0] == "DROP VIEW IF EXISTS codes" and run.sql[-1] == CODES


@pytest.mark.parametrize(
    ("view", "sql", "why"),
    [
        (CODES, "ALTER TABLE shop_item DROP COLUMN code", "name shop_item.code"),
        (EVERY, "ALTER TABLE shop_item ALTER COLUMN qty TYPE bigint", "rewrites the table"),
        (CODES, "DROP TABLE shop_item", "is dropped, and the view"),
        (
            "CREATE MATERIALIZED VIEW codes AS SELECT id, code FROM shop_item",
            "ALTER TABLE shop_item ALTER COLUMN code TYPE varchar(50)",
            "materialized",
        ),
    ],
    ids=["named-drop", "rewrite", "drop-table", "materialized"],
)
def test_views_that_cannot_be_recreated_as_they_are_are_not_planned(
    view: str, sql: str, why: str
) -> None:
    """The rules' one composed recipe stays (it orders every hazard, not the view's alone)."""
    remedy = _plan(view, sql)
    assert remedy is None or remedy.kind != "views-recreated"
    assert why in _plan(view, sql, why=True)


@pytest.mark.parametrize(
    ("view", "sql"),
    [
        (CODES, "ALTER TABLE shop_item ALTER COLUMN qty TYPE integer"),
        (CODES, "ALTER TABLE other DROP COLUMN code"),
    ],
    ids=["column-not-read", "another-table"],
)
def test_changes_no_view_reads_are_not_planned_here(view: str, sql: str) -> None:
    remedy = _plan(view, sql)
    assert remedy is None or remedy.kind != "views-recreated"
    assert _plan(view, sql, why=True) is None
