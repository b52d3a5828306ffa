"""Every rule's static lock claim, traced on a real PostgreSQL server.

For each rule that puts a lock in its finding (``SHARE on "t" ...``), one
representative migration is linted (``tests/lintkit.py``, app ``shop``) and
then applied through Django with schemaops' StatementRecorder on a scratch
database; ``schemaops.trace.merge`` then holds the claim against the strongest
lock the same operation took on that table. A rule that claims a lock and has
no case here fails ``test_every_lock_claiming_rule_has_a_case``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.db import migrations, models
from django.db.migrations.state import ProjectState
from django.db.models.functions import Random
from lintkit import APP, make_migration, order_model

from schemaops.config import Config
from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.trace.merge import merge_findings, parse_schema_claim
from schemaops.trace.runner import TraceResult, pointed_at
from schemaops.trace.tracer import MigrationTrace, StatementRecorder, attributing

CUSTOMER = migrations.CreateModel(
    "Customer", [("id", models.BigAutoField(primary_key=True)), ("email", models.TextField())]
)
EVENTS = migrations.RunSQL(
    "CREATE TABLE events (id bigint, at date) PARTITION BY RANGE (at);"
    "CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')"
)
PERIOD = order_model(("period", models.CharField(max_length=20, null=True)))


def _sql(text: str) -> Any:
    return migrations.RunSQL(text, migrations.RunSQL.noop)


class CodeField(models.TextField):
    """A column declared with the domain ``order_code`` (created by the case's setup)."""

    def db_type(self, connection: Any) -> str:
        return "order_code"


CODE_CHECK = models.CheckConstraint(condition=models.Q(code__gt=""), name="code_not_empty")


# rule code[/variant] -> (setup operations, operations under test, atomic)
CASES: dict[str, tuple[list[Any], list[Any], bool]] = {
    "SO101": ([order_model()], [migrations.RemoveField("order", "legacy")], True),
    "SO102": ([order_model()], [migrations.DeleteModel("Order")], True),
    "SO103": ([order_model()], [migrations.RenameField("order", "legacy", "old")], True),
    "SO104": ([order_model()], [migrations.RenameModel("Order", "Purchase")], True),
    "SO105": (
        [order_model()],
        [
            migrations.AlterField(
                "order", "legacy", models.CharField(max_length=20, null=True, db_column="old")
            )
        ],
        True,
    ),
    "SO107": (
        [order_model()],
        [migrations.AddField("order", "status", models.CharField(max_length=9, default="new"))],
        True,
    ),
    "SO109": (
        [order_model()],
        [migrations.AlterField("order", "legacy", models.CharField(max_length=20))],
        True,
    ),
    "SO110": (
        [order_model()],
        [migrations.AlterField("order", "code", models.CharField(max_length=20, null=True))],
        True,
    ),
    "SO112": (
        [order_model(("state", models.CharField(max_length=9, db_default="new")))],
        [migrations.AlterField("order", "state", models.CharField(max_length=9))],
        True,
    ),
    "SO115": (
        [_sql("CREATE SCHEMA reporting; CREATE TABLE reporting.daily (id int)")],
        [_sql("DROP SCHEMA reporting CASCADE")],
        True,
    ),
    "SO201": (
        [order_model()],
        [migrations.AddIndex("order", models.Index(fields=["code"], name="order_code_idx"))],
        True,
    ),
    "SO202": (
        [order_model(), migrations.AddIndex("order", models.Index(fields=["code"], name="oc_idx"))],
        [migrations.RemoveIndex("order", "oc_idx")],
        True,
    ),
    "SO203": (
        [order_model()],
        [
            migrations.AddConstraint(
                "order", models.UniqueConstraint(fields=["code"], name="uq_order_code")
            )
        ],
        True,
    ),
    "SO204": (
        # a new nullable FK column is all NULL, so PostgreSQL skips its validation:
        # the representative case turns the constraint on for an existing column
        [
            CUSTOMER,
            order_model(
                (
                    "customer",
                    models.ForeignKey(
                        "shop.Customer", null=True, on_delete=models.CASCADE, db_constraint=False
                    ),
                )
            ),
        ],
        [
            migrations.AlterField(
                "order",
                "customer",
                models.ForeignKey("shop.Customer", null=True, on_delete=models.CASCADE),
            )
        ],
        True,
    ),
    "SO204/runsql": (
        [order_model(("customer_id", models.BigIntegerField(null=True))), CUSTOMER],
        [
            _sql(
                "ALTER TABLE shop_order ADD CONSTRAINT order_customer_fk "
                "FOREIGN KEY (customer_id) REFERENCES shop_customer (id)"
            )
        ],
        True,
    ),
    "SO205": (
        [order_model()],
        [
            migrations.AddConstraint(
                "order",
                models.CheckConstraint(condition=models.Q(amount__gte=0), name="amount_pos"),
            )
        ],
        True,
    ),
    "SO206": (
        [order_model()],
        [migrations.AlterField("order", "amount", models.BigIntegerField(default=0))],
        True,
    ),
    "SO207": (
        [order_model()],
        [migrations.AddField("order", "r", models.FloatField(db_default=Random()))],
        True,
    ),
    "SO208": (
        [order_model()],
        [
            migrations.AddField(
                "order",
                "twice",
                models.GeneratedField(
                    expression=models.F("amount") * 2,
                    output_field=models.BigIntegerField(),
                    db_persist=True,
                ),
            )
        ],
        True,
    ),
    "SO209": (
        [order_model()],
        [
            migrations.AddField("order", "ref", models.CharField(max_length=20, null=True)),
            migrations.AddIndex("order", models.Index(fields=["ref"], name="order_ref_idx")),
        ],
        True,
    ),
    # (the Django form, AddField(BigAutoField(unique=True)), cannot run on PostgreSQL:
    # Django emits a second PRIMARY KEY)
    "SO211": (
        [
            migrations.CreateModel(
                "Legacy", [("code", models.CharField(max_length=9, primary_key=True))]
            )
        ],
        [_sql("ALTER TABLE shop_legacy ADD COLUMN seq bigserial")],
        True,
    ),
    "SO212": (
        [PERIOD, _sql("CREATE EXTENSION IF NOT EXISTS btree_gist")],
        [
            migrations.AddConstraint(
                "order",
                ExclusionConstraint(
                    name="no_overlap", expressions=[("code", RangeOperators.EQUAL)]
                ),
            )
        ],
        True,
    ),
    "SO213": (
        [order_model()],
        [
            _sql("ALTER TABLE shop_order ADD CONSTRAINT pos CHECK (amount >= 0) NOT VALID"),
            _sql("ALTER TABLE shop_order VALIDATE CONSTRAINT pos"),
        ],
        True,
    ),
    "SO214": ([order_model()], [_sql("REINDEX TABLE shop_order")], True),
    "SO215": ([order_model()], [_sql("CLUSTER shop_order USING shop_order_pkey")], True),
    "SO216": ([EVENTS], [_sql("ALTER TABLE events DETACH PARTITION events_2023")], True),
    "SO221": (
        [
            order_model(),
            _sql("CREATE MATERIALIZED VIEW order_stats AS SELECT count(*) FROM shop_order"),
        ],
        [_sql("REFRESH MATERIALIZED VIEW order_stats")],
        True,
    ),
    "SO222": ([EVENTS], [_sql("CREATE INDEX events_at ON events (at)")], True),
    "SO217": (
        [_sql("CREATE TABLE legacy (code text NOT NULL)")],
        [_sql("ALTER TABLE legacy ADD PRIMARY KEY (code)")],
        True,
    ),
    "SO218": ([order_model()], [_sql("LOCK TABLE shop_order IN EXCLUSIVE MODE")], True),
    "SO219": (
        [order_model(), migrations.AddConstraint("order", CODE_CHECK)],
        [migrations.AlterField("order", "code", models.CharField(max_length=40))],
        True,
    ),
    "SO219/runsql": (
        [order_model(), migrations.AddConstraint("order", CODE_CHECK)],
        [_sql("ALTER TABLE shop_order ALTER COLUMN code TYPE varchar(40)")],
        True,
    ),
    "SO220": (
        [_sql("CREATE DOMAIN order_code AS text"), order_model(("ref", CodeField(null=True)))],
        [_sql("ALTER DOMAIN order_code ADD CONSTRAINT ref_not_empty CHECK (VALUE <> '')")],
        True,
    ),
    "SO220/not-null": (
        [_sql("CREATE DOMAIN order_code AS text"), order_model(("ref", CodeField(null=True)))],
        [_sql("ALTER DOMAIN order_code SET NOT NULL")],
        True,
    ),
    "SO303": (
        [order_model()],
        [_sql("UPDATE shop_order SET code = 'x'"), _sql("CREATE INDEX i ON shop_order (code)")],
        True,
    ),
    "SO306": ([order_model()], [_sql("TRUNCATE shop_order")], True),
    "SO401": (
        [order_model()],
        [migrations.AddField("order", "note", models.TextField(null=True))],
        True,
    ),
    "SO402": (
        [order_model()],
        [migrations.AddIndex("order", models.Index(fields=["amount"], name="order_amount_idx"))],
        True,
    ),
}


def lint_case(code: str) -> tuple[Any, list[Finding]]:
    from lintkit import FakeLoader

    from schemaops.linter import Linter

    setup, operations, atomic = CASES[code]
    first = make_migration("0001_initial", setup)
    second = make_migration(
        "0002_change", operations, atomic=atomic, dependencies=[(APP, "0001_initial")]
    )
    loader = FakeLoader([first, second])
    result = Linter(loader, Config(), pg_version=15).run({(APP, "0002_change")})
    return loader, [f for f in result.findings if f.lock and not f.suppressed]


def trace_case(loader: Any, params: dict[str, str]) -> TraceResult:
    first = loader.graph.nodes[(APP, "0001_initial")]
    second = loader.graph.nodes[(APP, "0002_change")]
    with pointed_at("default", params) as connection:
        state = ProjectState()
        with connection.schema_editor() as editor:
            state = first.apply(state, editor)
        recorder = StatementRecorder(connection, params)
        recorder.start()
        with (
            connection.execute_wrapper(recorder),
            attributing(second, recorder),
            connection.schema_editor(atomic=second.atomic) as editor,
        ):
            second.apply(state, editor)
    trace = MigrationTrace(APP, "0002_change", second.atomic, recorder.statements)
    return TraceResult(migrations=[trace])


# Claims the trace contradicts, reported to the lead (rules are not ours to edit). strict:
# once a rule is fixed the xfail turns into a failure and the entry must go.
CONTRADICTED: dict[str, str] = {}


def _params() -> list[Any]:
    return [
        pytest.param(code, marks=pytest.mark.xfail(reason=CONTRADICTED[code], strict=True))
        if code in CONTRADICTED
        else code
        for code in sorted(CASES)
    ]


@pytest.mark.parametrize("code", _params())
def test_rule_lock_claim_matches_the_trace(code, scratch_db):
    loader, findings = lint_case(code)
    claims = [f for f in findings if f.code == code.split("/")[0]]
    assert claims, f"{code} made no finding with a lock for its representative case"
    merge_findings(findings, trace_case(loader, scratch_db), loader)
    verdicts = {f.lock: f.evidence.get("trace", "not traced") for f in claims}
    assert all(v.startswith(("confirmed", "consistent")) for v in verdicts.values()), verdicts


def test_every_lock_claiming_rule_has_a_case():
    from schemaops.checks import RULES

    # rules whose findings never carry a lock, or whose operation cannot run as written
    exempt = {
        "SO106",
        "SO108",
        "SO111",
        "SO113",  # ALTER TYPE ... RENAME VALUE: no table lock
        "SO114",  # ALTER SCHEMA ... RENAME: no table lock
        "SO116",  # adding in a post-deploy migration: a phase finding, no lock claim
        "SO117",  # a view reads the column: a dependency finding, no lock claim
        "SO210",
        "SO301",
        "SO302",
        "SO304",
        "SO305",
        "SO307",  # DROP DATABASE: no lock claim, and it cannot run in a migration's transaction
        "SO403",
        "SO904",  # what could not be analysed: no lock claim by definition
        "SO501",
        "SO502",
        "SO503",
        "SO601",
        "SO602",
        "SO603",
        "SO604",
        "SO605",  # CREATE DOMAIN: no lock claim
        "SO606",  # char(n) in RunSQL: a type hygiene finding, no lock claim
        "SO607",  # identifier-too-long: no lock claim
        "SO608",  # ALTER TYPE ... ADD VALUE without position: no lock claim
        "SO901",
        "SO902",
        "SO903",
        "SO905",  # rule-failed: a rule that raised, no lock claim
        "SO801",  # made by `check --trace` itself from observed locks
        "SO802",
        "SO803",  # made by the compat replay (tests/trace/test_compat_rules.py)
        "SO804",
    }
    covered = {key.split("/")[0] for key in CASES}
    missing = {c for c, r in RULES.items() if not r.retired} - covered - exempt
    assert not missing, f"rules without a traced lock-claim case: {sorted(missing)}"


def test_a_claim_on_every_table_of_a_schema_is_held_against_each_of_them(scratch_db):
    import dataclasses

    loader, findings = lint_case("SO115")
    (right,) = [f for f in findings if f.code == "SO115"]
    assert parse_schema_claim(right.lock) == (Lock.ACCESS_EXCLUSIVE, ["reporting"])
    wrong = dataclasses.replace(
        right, lock=right.lock.replace("ACCESS EXCLUSIVE", "SHARE", 1), evidence={}
    )
    merge_findings([right, wrong], trace_case(loader, scratch_db), loader)
    assert right.evidence["trace"] == (
        "confirmed: ACCESS EXCLUSIVE on every table in reporting (reporting.daily)"
    )
    assert wrong.evidence["trace"] == (
        "contradicted: observed ACCESS EXCLUSIVE on reporting.daily, not SHARE"
    )
    assert wrong.message.endswith(
        '[trace: observed ACCESS EXCLUSIVE on "reporting.daily", not SHARE]'
    )
