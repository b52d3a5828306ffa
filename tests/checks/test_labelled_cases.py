"""Labelled cases: a migration, the state before it, and the verdict PostgreSQL 15 warrants.

Each case is the fixture project of ``labelled_fixture.world()`` (migration
0001 of app ``shop``), optional earlier migrations (``prior``), and the
migration under check. ``expect`` is the rule code(s) that must report an
error for an unsafe change (any one of a tuple is the right verdict), or None
for a safe change, which must get no error at all (warnings and info are
allowed). The verdicts come from what Django's schema editor emits
(``schemaops check --sql``) and what PostgreSQL does with it; the doubtful
ones were timed on a 2-million-row table (e.g. ``ADD COLUMN ... NULL CHECK
(x >= 0)`` scans the table under ACCESS EXCLUSIVE: 1.2 s; a nullable
``ADD COLUMN ... REFERENCES`` reads nothing: 10 ms; ``DEFAULT now()`` is not
a rewrite).

``measure()`` prints the figures of issue #12: unsafe caught, safe errored,
operations whose findings carry more than one remedy::

    .venv/bin/python tests/checks/test_labelled_cases.py
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # pragma: no cover - the measuring entry point
    import os

    import django

    _tests = Path(__file__).resolve().parent.parent
    sys.path[:0] = [str(_tests.parent / "sample_project"), str(_tests / "checks"), str(_tests)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    django.setup()  # as tests/conftest.py does for pytest

import pytest
from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import (
    ArrayField,
    DateTimeRangeField,
    HStoreField,
    RangeOperators,
)
from django.contrib.postgres.functions import RandomUUID
from django.contrib.postgres.indexes import BrinIndex, GinIndex, GistIndex, HashIndex, OpClass
from django.contrib.postgres.operations import (
    AddConstraintNotValid,
    AddIndexConcurrently,
    BtreeGinExtension,
    CreateCollation,
    CreateExtension,
    RemoveIndexConcurrently,
    TrigramExtension,
    ValidateConstraint,
)
from django.db import migrations, models
from django.db.migrations.operations.base import Operation
from django.db.models import F, Q
from django.db.models.functions import Lower, Now, Pi
from labelled_fixture import place_child, user_model, world
from lintkit import APP, QUIET, FakeLoader, make_migration

from schemaops.config import Config
from schemaops.findings import Finding, Severity
from schemaops.linter import Linter

Prior = tuple[list[Any], dict[str, Any]]  # an earlier migration: operations, attributes


@dataclass
class Case:
    id: str
    operations: list[Any]
    expect: str | tuple[str, ...] | None  # None: safe
    attrs: dict[str, Any] = field(default_factory=dict)  # of the checked migration
    prior: list[Prior] = field(default_factory=list)
    xfail: str | None = None

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.expect,) if isinstance(self.expect, str) else tuple(self.expect or ())


def run(case: Case, config: Config = QUIET) -> tuple[list[Finding], FakeLoader]:
    """Lint the case's last migration after the fixture project and its priors.

    ``QUIET`` assumes ``schemaops migrate`` sets the timeouts (as the other rule
    tests do); ``measure --timeouts`` runs with the default configuration instead.
    """
    loader = case_loader(case)
    result = Linter(loader, config, pg_version=15).run({loader.last})
    return [f for f in result.findings if not f.suppressed], loader


def case_loader(case: Case) -> FakeLoader:
    """The case's project: the fixture project, its priors, then the checked migration."""
    # the swappable user model's app, as a project's own migrations see it
    users = make_migration("0001_initial", [user_model()], app="auth")
    chain = [
        users,
        make_migration("0001_initial", world(), dependencies=[("auth", "0001_initial")]),
    ]
    for number, (ops, attrs) in enumerate(case.prior, 2):
        chain.append(
            make_migration(
                f"{number:04d}_prior", ops, dependencies=[(APP, chain[-1].name)], **attrs
            )
        )
    checked = make_migration(
        f"{len(chain) + 1:04d}_checked",
        case.operations,
        dependencies=[(APP, chain[-1].name)],
        **case.attrs,
    )
    chain.append(checked)
    return FakeLoader(chain)


def errors(findings: list[Finding]) -> set[str]:
    return {f.code for f in findings if f.severity >= Severity.ERROR}


def _fk(to: str, **kw: Any) -> models.ForeignKey:
    return models.ForeignKey(to, on_delete=models.CASCADE, **kw)


def _sql(sql: str) -> migrations.RunSQL:
    return migrations.RunSQL(sql, migrations.RunSQL.noop)


def _run(code: Any) -> migrations.RunPython:
    return migrations.RunPython(code, migrations.RunPython.noop)


def _separate(
    state: list[Any] | None = None, database: list[Any] | None = None
) -> migrations.SeparateDatabaseAndState:
    return migrations.SeparateDatabaseAndState(state_operations=state, database_operations=database)


def _before(*operations: Any, attrs: dict[str, Any] | None = None) -> list[Prior]:
    """A case's ``prior``: one earlier migration holding ``operations`` (``+`` joins more)."""
    return [(list(operations), attrs or {})]


POST = {"deploy_phase": "post"}
NON_ATOMIC = {"atomic": False}
SQUASHED = {"replaces": [(APP, "0002_a"), (APP, "0003_b")]}


def _index_by_hand(apps, schema_editor):
    schema_editor.execute("CREATE INDEX o_code ON shop_order (code)")


def _drop_by_hand(apps, schema_editor):
    schema_editor.execute("ALTER TABLE shop_order DROP COLUMN legacy")


JOIN_VIEW = _sql(
    "CREATE VIEW shop_coupon_people AS SELECT coupon_id, customer_id FROM shop_coupon_customers"
)
THROUGH = [
    migrations.CreateModel(
        "OrderNote",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("order", models.ForeignKey("shop.Order", models.CASCADE)),
            ("note", models.ForeignKey("shop.Note", models.CASCADE)),
        ],
    ),
    migrations.AddField(
        "order", "notes", models.ManyToManyField("shop.Note", through="shop.OrderNote")
    ),
]


def _backfill(apps, schema_editor):
    apps.get_model("shop", "Order").objects.update(paid=False)


def _backfill_note(apps, schema_editor):
    apps.get_model("shop", "Note").objects.filter(body__isnull=True).update(body="")


def _seed_tags(apps, schema_editor):
    apps.get_model("shop", "Tag").objects.bulk_create(
        [apps.get_model("shop", "Tag")(n=n) for n in ("a", "b")]
    )


def _seed_tags_n(apps, schema_editor):
    apps.get_model("shop", "Tag").objects.create(n="a")


BOX = [
    migrations.CreateModel(
        "Box",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("w", models.IntegerField()),
            (
                "w2",
                models.GeneratedField(
                    expression=F("w") * 2, output_field=models.IntegerField(), db_persist=True
                ),
            ),
        ],
    )
]

PROD = [
    migrations.CreateModel(
        "Prod",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("price", models.DecimalField(max_digits=10, decimal_places=2)),
            ("uid", models.UUIDField(null=True)),
            ("qty", models.SmallIntegerField(default=0)),
            ("stock", models.PositiveIntegerField(default=0)),
            ("sizes", ArrayField(models.IntegerField(), null=True)),
        ],
    )
]

SMALL_PLACE = migrations.CreateModel(
    "SmallPlace", [], options={"proxy": True}, bases=("shop.place",)
)
EXT = migrations.CreateModel(
    "Ext",
    [("id", models.IntegerField(primary_key=True))],
    options={"managed": False, "db_table": "ext_table"},
)

CODE_NULLABLE = _separate(
    state=[migrations.RemoveField("order", "code")],
    database=[_sql("ALTER TABLE shop_order ALTER COLUMN code DROP NOT NULL")],
)

# an unmanaged model over the fixture's view shop_order_v: the code reads the view
VIEW_MODEL = migrations.CreateModel(
    "OrderView",
    [("id", models.BigIntegerField(primary_key=True)), ("legacy", models.TextField(null=True))],
    options={"managed": False, "db_table": "shop_order_v"},
)


class NaiveDateTimeField(models.DateTimeField):
    """A project's naive timestamp column (``timestamp``, what a legacy schema has)."""

    def db_type(self, connection: Any) -> str:
        return "timestamp"


class RatingField(models.PositiveSmallIntegerField):
    """A project's subclass: Django gives it the same CHECK (col >= 0)."""


class AddFieldSafe(migrations.AddField):
    """A project's own subclass of a Django operation (same SQL)."""


class AddTriggerLike(Operation):
    """Shaped like django-pgtrigger's AddTrigger: its own Operation that runs SQL."""

    reversible = True

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, *states: Any) -> None:
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION shop_stamp() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NEW; END $$"
        )
        schema_editor.execute(
            "CREATE TRIGGER shop_stamp BEFORE UPDATE ON shop_order "
            "FOR EACH ROW EXECUTE FUNCTION shop_stamp()"
        )

    def database_backwards(self, app_label: str, schema_editor: Any, *states: Any) -> None:
        schema_editor.execute("DROP TRIGGER shop_stamp ON shop_order")

    def describe(self) -> str:
        return "add a trigger"


AMOUNT_POS = Q(amount__gte=0)
# a varchar primary key and a unique code, each with a foreign key pointing at it
SKU = [
    migrations.CreateModel(
        "Sku",
        [
            ("code", models.CharField(max_length=10, primary_key=True)),
            ("ean", models.CharField(max_length=13, unique=True)),
        ],
    ),
    migrations.CreateModel(
        "Line",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("sku", _fk("shop.Sku")),
            ("by_ean", _fk("shop.Sku", to_field="ean", related_name="+")),
        ],
    ),
]


UNSAFE: list[Case] = [
    # many-to-many
    Case("m2m-remove-drops-join-table", [migrations.RemoveField("coupon", "customers")], "SO102"),
    Case(
        "m2m-repoint-rewrites-join-table",
        [migrations.AlterField("coupon", "customers", models.ManyToManyField("shop.Note"))],
        ("SO103", "SO204", "SO206"),
    ),
    Case(
        "m2m-join-table-dropped-by-sql-while-field-exists",
        [_sql("DROP TABLE shop_coupon_customers")],
        "SO102",
        attrs=POST,
    ),
    # inheritance
    Case("mti-child-delete-pre", [migrations.DeleteModel("restaurant")], "SO102"),
    Case(
        "mti-parent-add-not-null",
        [migrations.AddField("place", "city", models.CharField(max_length=20, default="x"))],
        "SO107",
    ),
    Case("mti-child-remove-field-pre", [migrations.RemoveField("restaurant", "seats")], "SO101"),
    Case(
        "mti-child-rename-field",
        [migrations.RenameField("restaurant", "seats", "capacity")],
        "SO103",
    ),
    # arrays, JSON, hstore
    Case(
        "array-not-null-python-default",
        [
            migrations.AddField(
                "event", "labels", ArrayField(models.CharField(max_length=10), default=list)
            )
        ],
        ("SO107", "SO108"),
    ),
    Case(
        "gin-index-on-array-non-concurrently",
        [migrations.AddIndex("event", GinIndex(fields=["tags"], name="event_tags_gin"))],
        "SO201",
    ),
    Case(
        "json-to-text-rewrite",
        [migrations.AlterField("event", "payload", models.TextField(null=True))],
        "SO206",
    ),
    Case(
        "json-not-null-python-default",
        [migrations.AddField("event", "meta", models.JSONField(default=dict))],
        ("SO107", "SO108"),
    ),
    # views and materialized views
    Case(
        "drop-column-a-view-reads-post",
        [migrations.RemoveField("order", "legacy")],
        "SO117",
        attrs=POST,
    ),
    Case(
        "retype-column-a-view-reads",
        [migrations.AlterField("order", "legacy", models.CharField(max_length=50, null=True))],
        "SO117",
    ),
    Case(
        "drop-column-a-matview-reads-post",
        [migrations.RemoveField("event", "kind")],
        "SO117",
        attrs=POST,
    ),
    Case("refresh-matview", [_sql("REFRESH MATERIALIZED VIEW shop_event_mv")], "SO221"),
    Case(
        "drop-table-a-view-reads-post",
        [_sql("DROP TABLE shop_order CASCADE")],
        ("SO102", "SO117"),
        attrs=POST,
    ),
    # a view a model reads (an unmanaged model over it): dropped or renamed
    Case(
        "drop-view-a-model-reads-pre",
        [_sql("DROP VIEW shop_order_v")],
        "SO102",
        prior=[([VIEW_MODEL], {})],
    ),
    Case(
        "drop-view-a-model-reads-post",
        [_sql("DROP VIEW shop_order_v")],
        "SO102",
        attrs=POST,
        prior=[([VIEW_MODEL], {})],
    ),
    Case("rename-view", [_sql("ALTER VIEW shop_order_v RENAME TO shop_orders_v")], "SO104"),
    Case(
        "rename-matview",
        [_sql("ALTER MATERIALIZED VIEW shop_event_mv RENAME TO shop_events_mv")],
        "SO104",
    ),
    Case(
        "rename-m2m-field-renames-join-table",
        [migrations.RenameField("coupon", "customers", "clients")],
        "SO104",
    ),
    # partitioned tables
    Case(
        "index-on-partitioned-parent",
        [_sql("CREATE INDEX measure_ts_idx ON shop_measure (ts)")],
        ("SO201", "SO222"),
    ),
    Case(
        "detach-partition-blocking",
        [_sql("ALTER TABLE shop_measure DETACH PARTITION shop_measure_2024")],
        "SO216",
    ),
    # expression and partial indexes
    Case(
        "expression-index",
        [migrations.AddIndex("order", models.Index(Lower("code"), name="order_lower_code"))],
        "SO201",
    ),
    Case(
        "partial-index",
        [
            migrations.AddIndex(
                "order",
                models.Index(
                    fields=["code"], condition=Q(legacy__isnull=False), name="order_code_part"
                ),
            )
        ],
        "SO201",
    ),
    Case(
        "concurrent-index-in-atomic-migration",
        [AddIndexConcurrently("order", models.Index(fields=["code"], name="order_code_idx"))],
        "SO210",
    ),
    Case(
        "index-on-fk-add",
        [migrations.AddField("order", "note", _fk("shop.Note", null=True))],
        "SO201",
    ),
    # unique and check constraints
    Case(
        "conditional-unique",
        [
            migrations.AddConstraint(
                "order",
                models.UniqueConstraint(
                    fields=["code"], condition=Q(amount__gt=0), name="order_code_uniq"
                ),
            )
        ],
        ("SO201", "SO203"),
    ),
    Case(
        "covering-unique",
        [
            migrations.AddConstraint(
                "order",
                models.UniqueConstraint(fields=["code"], include=["amount"], name="order_code_cov"),
            )
        ],
        ("SO201", "SO203"),
    ),
    Case(
        "expression-unique",
        [
            migrations.AddConstraint(
                "order", models.UniqueConstraint(Lower("code"), name="order_lower_uniq")
            )
        ],
        ("SO201", "SO203"),
    ),
    Case(
        "check-constraint-validated",
        [
            migrations.AddConstraint(
                "order", models.CheckConstraint(condition=Q(amount__gte=0), name="amount_pos")
            )
        ],
        "SO205",
    ),
    Case(
        "not-valid-and-validate-same-transaction",
        [
            _sql("ALTER TABLE shop_order ADD CONSTRAINT amt CHECK (amount >= 0) NOT VALID"),
            _sql("ALTER TABLE shop_order VALIDATE CONSTRAINT amt"),
        ],
        "SO213",
    ),
    Case(
        "repoint-fk-validated",
        [migrations.AlterField("coupon", "order", _fk("shop.Note"))],
        ("SO204", "SO206"),
    ),
    Case(
        "not-null-fk-add-validated",
        [migrations.AddField("event", "order", _fk("shop.Order", default=1, db_index=False))],
        ("SO107", "SO204"),
    ),
    # post-deploy (contract)
    Case(
        "post-drop-not-null-no-db-default",
        [migrations.RemoveField("order", "code")],
        "SO101",
        attrs=POST,
    ),
    Case(
        "post-drop-python-default-only",
        [migrations.RemoveField("order", "amount")],
        "SO101",
        attrs=POST,
    ),
    Case(
        "post-rename-field",
        [migrations.RenameField("note", "body", "text")],
        "SO103",
        attrs=POST,
    ),
    Case(
        "post-add-field",
        [migrations.AddField("note", "title", models.TextField(null=True))],
        "SO116",
        attrs=POST,
    ),
    Case(
        "post-db-only-drop-of-column-models-have",
        [_sql("ALTER TABLE shop_note DROP COLUMN body")],
        "SO101",
        attrs=POST,
    ),
    Case(
        "pre-depends-on-post",
        [migrations.AddField("note", "title", models.TextField(null=True))],
        "SO111",
        prior=_before(_sql("SELECT 1"), attrs=POST),
    ),
    Case(
        "post-create-model",
        [migrations.CreateModel("Tag", [("id", models.BigAutoField(primary_key=True))])],
        "SO116",
        attrs=POST,
    ),
    # removals and renames
    Case("remove-field-pre", [migrations.RemoveField("order", "legacy")], "SO101"),
    Case("delete-model-pre", [migrations.DeleteModel("note")], "SO102"),
    Case(
        "state-only-removal-not-null",
        [_separate(state=[migrations.RemoveField("order", "code")])],
        "SO106",
    ),
    Case("rename-field", [migrations.RenameField("order", "code", "sku")], "SO103"),
    Case("rename-model", [migrations.RenameModel("note", "memo")], "SO104"),
    Case("alter-model-table", [migrations.AlterModelTable("note", "shop_memo")], "SO104"),
    Case(
        "alter-db-column",
        [migrations.AlterField("note", "body", models.TextField(null=True, db_column="text"))],
        ("SO103", "SO105"),
    ),
    Case(
        "sql-rename-column",
        [_sql("ALTER TABLE shop_note RENAME COLUMN body TO text")],
        "SO103",
    ),
    # db_default, generated columns, defaults
    Case(
        "db-default-volatile-random-uuid",
        [migrations.AddField("note", "uid", models.UUIDField(db_default=RandomUUID()))],
        "SO207",
    ),
    Case(
        "drop-db-default-of-not-null-pre",
        [migrations.AlterField("note", "body", models.TextField())],
        "SO112",
        prior=_before(migrations.AlterField("note", "body", models.TextField(db_default=""))),
    ),
    Case(
        "add-not-null-empty-string-default",
        [migrations.AddField("note", "title", models.CharField(max_length=10, default=""))],
        "SO107",
    ),
    Case(
        "add-not-null-no-default",
        [
            migrations.AddField(
                "note", "title", models.CharField(max_length=10), preserve_default=False
            )
        ],
        "SO107",
    ),
    Case(
        "generated-stored-column",
        [
            migrations.AddField(
                "order",
                "double",
                models.GeneratedField(
                    expression=F("amount") * 2, output_field=models.IntegerField(), db_persist=True
                ),
            )
        ],
        "SO208",
    ),
    Case(
        "sql-add-not-null-default-then-drop-default",
        [
            _sql("ALTER TABLE shop_note ADD COLUMN n integer NOT NULL DEFAULT 0"),
            _sql("ALTER TABLE shop_note ALTER COLUMN n DROP DEFAULT"),
        ],
        ("SO107", "SO112", "SO803"),
    ),
    # type changes
    Case(
        "narrow-varchar",
        [migrations.AlterField("order", "code", models.CharField(max_length=10))],
        "SO206",
    ),
    Case(
        "int-to-bigint",
        [migrations.AlterField("order", "amount", models.BigIntegerField(default=0))],
        "SO206",
    ),
    Case(
        "int-to-positive-int-check",
        [migrations.AlterField("order", "amount", models.PositiveIntegerField(default=0))],
        ("SO205", "SO219"),
    ),
    Case(
        "add-nullable-positive-int-scans-for-check",
        [migrations.AddField("note", "rank", models.PositiveIntegerField(null=True))],
        ("SO205", "SO219"),
    ),
    Case(
        "collation-change-on-indexed-column",
        [
            migrations.AlterField(
                "event", "slug", models.CharField(max_length=30, db_index=True, db_collation="C")
            )
        ],
        "SO206",
    ),
    Case(
        "set-not-null",
        [migrations.AlterField("order", "legacy", models.CharField(max_length=20))],
        "SO109",
    ),
    Case(
        "text-to-int-using",
        [migrations.AlterField("note", "body", models.IntegerField(null=True))],
        "SO206",
    ),
    # raw SQL and data changes
    Case("truncate", [_sql("TRUNCATE shop_note")], "SO306"),
    Case("vacuum-full", [_sql("VACUUM FULL shop_note")], "SO215", attrs=NON_ATOMIC),
    Case("cluster", [_sql("CLUSTER shop_order USING order_amount_idx")], "SO215"),
    Case(
        "sql-add-column-volatile-default",
        [_sql("ALTER TABLE shop_note ADD COLUMN r float8 DEFAULT random()")],
        "SO207",
    ),
    Case(
        "sql-create-index-on-existing",
        [_sql("CREATE INDEX note_body_idx ON shop_note (body)")],
        "SO201",
    ),
    Case(
        "squashed-concurrently-in-atomic",
        [_sql("CREATE INDEX CONCURRENTLY order_id_idx ON shop_order (id)")],
        "SO210",
        attrs=SQUASHED,
    ),
    # more shapes real projects have
    Case(
        "array-element-widen-rewrites",
        [
            migrations.AlterField(
                "event", "tags", ArrayField(models.CharField(max_length=40), null=True)
            )
        ],
        "SO206",
    ),
    Case(
        "array-set-not-null",
        [migrations.AlterField("event", "tags", ArrayField(models.CharField(max_length=20)))],
        "SO109",
    ),
    Case(
        "hstore-not-null-python-default",
        [migrations.AddField("note", "h", HStoreField(default=dict))],
        ("SO107", "SO108"),
    ),
    Case(
        "alter-field-add-db-index",
        [
            migrations.AlterField(
                "order", "legacy", models.CharField(max_length=20, null=True, db_index=True)
            )
        ],
        "SO201",
    ),
    Case(
        "alter-field-add-unique",
        [migrations.AlterField("order", "code", models.CharField(max_length=20, unique=True))],
        ("SO201", "SO203"),
    ),
    Case(
        "char-to-slug-adds-index",
        [migrations.AlterField("order", "code", models.SlugField(max_length=20))],
        "SO201",
    ),
    Case(
        "unique-together-on-existing",
        [migrations.AlterUniqueTogether("order", {("code", "amount")})],
        ("SO201", "SO203"),
    ),
    Case(
        "one-to-one-nullable-add-builds-unique",
        [
            migrations.AddField(
                "event", "note", models.OneToOneField("shop.Note", models.SET_NULL, null=True)
            )
        ],
        ("SO201", "SO203"),
    ),
    Case(
        "boolean-python-default-not-null",
        [migrations.AddField("order", "paid", models.BooleanField(default=False))],
        "SO107",
    ),
    Case(
        "order-with-respect-to-adds-not-null",
        [migrations.AlterOrderWithRespectTo("coupon", "order")],
        "SO107",
    ),
    Case(
        "fk-set-not-null",
        [migrations.AlterField("event", "order", _fk("shop.Order"))],
        "SO109",
        prior=_before(migrations.AddField("event", "order", _fk("shop.Order", null=True))),
    ),
    Case(
        "pk-int-to-bigint",
        [migrations.AlterField("legacy2", "id", models.BigIntegerField(primary_key=True))],
        "SO206",
        prior=_before(
            migrations.CreateModel("Legacy2", [("id", models.IntegerField(primary_key=True))])
        ),
    ),
    Case(
        "func-gen-random-uuid-db-default",
        [
            migrations.AddField(
                "note",
                "uid",
                models.UUIDField(db_default=models.Func(function="gen_random_uuid")),
            )
        ],
        "SO207",
    ),
    Case(
        "post-remove-not-null-fk",
        [migrations.RemoveField("coupon", "order")],
        "SO101",
        attrs=POST,
    ),
    Case(
        "state-only-removal-not-null-fk",
        [_separate(state=[migrations.RemoveField("coupon", "order")])],
        "SO106",
    ),
    Case("post-rename-model", [migrations.RenameModel("note", "memo")], "SO104", attrs=POST),
    Case(
        "delete-model-others-reference-pre",
        [
            migrations.RemoveField("coupon", "order"),
            migrations.DeleteModel("order"),
        ],
        ("SO101", "SO102"),
    ),
    Case(
        "sql-set-not-null",
        [_sql("ALTER TABLE shop_order ALTER COLUMN legacy SET NOT NULL")],
        "SO109",
    ),
    Case(
        "sql-add-validated-fk",
        [
            _sql(
                "ALTER TABLE shop_note ADD CONSTRAINT note_ord FOREIGN KEY (id)"
                " REFERENCES shop_order (id)"
            )
        ],
        "SO204",
    ),
    Case(
        "sql-add-unique-constraint",
        [_sql("ALTER TABLE shop_order ADD CONSTRAINT order_code_u UNIQUE (code)")],
        ("SO201", "SO203"),
    ),
    Case("sql-drop-table-pre", [_sql("DROP TABLE shop_note")], "SO102"),
    Case(
        "sql-alter-type", [_sql("ALTER TABLE shop_order ALTER COLUMN amount TYPE bigint")], "SO206"
    ),
    Case("sql-reindex", [_sql("REINDEX TABLE shop_order")], "SO214"),
    Case("sql-set-tablespace-rewrite", [_sql("ALTER TABLE shop_order SET LOGGED")], "SO215"),
    Case("sql-add-serial", [_sql("ALTER TABLE shop_note ADD COLUMN n bigserial")], "SO211"),
    Case(
        "sql-attach-existing-table-scans",
        [
            _sql(
                "ALTER TABLE shop_measure ATTACH PARTITION shop_measure_old"
                " FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')"
            )
        ],
        ("SO205", "SO215", "SO216"),
        prior=_before(_sql("CREATE TABLE shop_measure_old (LIKE shop_measure)")),
    ),
    Case(
        "runpython-backfill-after-add-column-same-transaction",
        [
            migrations.AddField("order", "paid", models.BooleanField(null=True)),
            _run(_backfill),
        ],
        ("SO209", "SO303"),
    ),
    Case(
        "sql-update-after-alter-same-transaction",
        [
            _sql("ALTER TABLE shop_order ADD COLUMN paid boolean"),
            _sql("UPDATE shop_order SET paid = false"),
        ],
        ("SO209", "SO303"),
    ),
    Case("drop-database", [_sql("DROP DATABASE other")], "SO307", attrs=NON_ATOMIC),
    Case("post-truncate", [_sql("TRUNCATE shop_note")], "SO306", attrs=POST),
    Case(
        "delete-through-model-pre",
        [
            migrations.RemoveField("order", "notes"),
            migrations.DeleteModel("ordernote"),
        ],
        "SO102",
        prior=_before(*THROUGH),
    ),
    Case(
        "post-drop-column-a-select-star-view-reads",
        [migrations.RemoveField("note", "body")],
        "SO117",
        attrs=POST,
        prior=_before(_sql("CREATE VIEW shop_note_all AS SELECT * FROM shop_note")),
    ),
    Case(
        "post-drop-column-an-aliased-join-view-reads",
        [migrations.RemoveField("note", "body")],
        "SO117",
        attrs=POST,
        prior=_before(
            _sql(
                "CREATE VIEW shop_note_j AS SELECT o.id, n.body AS text"
                " FROM shop_order o JOIN shop_note n ON n.id = o.id"
            )
        ),
    ),
    Case(
        "sql-retype-column-a-view-reads",
        [_sql("ALTER TABLE shop_order ALTER COLUMN legacy TYPE text")],
        "SO117",
    ),
    Case(
        "retype-column-a-matview-reads",
        [migrations.AlterField("event", "kind", models.CharField(max_length=40, null=True))],
        "SO117",
    ),
    Case("sql-set-tablespace", [_sql("ALTER TABLE shop_order SET TABLESPACE pg_default")], "SO215"),
    Case("sql-set-unlogged", [_sql("ALTER TABLE shop_order SET UNLOGGED")], "SO215"),
    Case(
        "callable-default-not-null-timestamp",
        [
            migrations.AddField(
                "note",
                "at",
                models.DateTimeField(
                    default=__import__("django.utils.timezone", fromlist=["now"]).now
                ),
            )
        ],
        ("SO107", "SO108"),
    ),
    Case(
        "one-to-one-not-null-add",
        [
            migrations.AddField(
                "event", "note1", models.OneToOneField("shop.Note", models.CASCADE, default=1)
            )
        ],
        ("SO107", "SO201", "SO203", "SO204"),
    ),
    Case(
        "remove-gfk-content-type-fk-pre",
        [migrations.RemoveField("event", "object_id")],
        "SO101",
    ),
    Case(
        "decimal-change-scale",
        [
            migrations.AlterField(
                "prod", "price", models.DecimalField(max_digits=12, decimal_places=3)
            )
        ],
        "SO206",
        prior=_before(*PROD),
    ),
    Case(
        "text-to-varchar",
        [migrations.AlterField("note", "body", models.CharField(max_length=100, null=True))],
        "SO206",
    ),
    Case(
        "uuid-to-varchar",
        [migrations.AlterField("prod", "uid", models.CharField(max_length=36, null=True))],
        "SO206",
        prior=_before(*PROD),
    ),
    Case(
        "indexed-varchar-to-text-rebuilds-like-index",
        [migrations.AlterField("event", "slug", models.TextField(db_index=True))],
        ("SO201", "SO206"),
    ),
    Case(
        "sql-drop-db-default-the-code-relies-on",
        [_sql("ALTER TABLE shop_note ALTER COLUMN body DROP DEFAULT")],
        "SO112",
        prior=_before(migrations.AlterField("note", "body", models.TextField(db_default=""))),
    ),
    Case(
        "post-drop-column-a-schema-qualified-view-reads",
        [migrations.RemoveField("note", "body")],
        "SO117",
        attrs=POST,
        prior=_before(_sql("CREATE VIEW public.shop_note_v AS SELECT body FROM public.shop_note")),
    ),
    Case(
        "state-only-removal-boolean-python-default",
        [_separate(state=[migrations.RemoveField("order", "paid")])],
        "SO106",
        prior=_before(migrations.AddField("order", "paid", models.BooleanField(default=False))),
    ),
    Case(
        "post-state-only-removal-not-null",
        [_separate(state=[migrations.RemoveField("order", "code")])],
        "SO106",
        attrs=POST,
    ),
    Case(
        "datetime-to-date",
        [migrations.AlterField("note", "at", models.DateField(null=True))],
        "SO206",
        prior=_before(migrations.AddField("note", "at", models.DateTimeField(null=True))),
    ),
    Case(
        "runpython-after-alter-of-another-table",
        [
            migrations.AddField("note", "n", models.IntegerField(null=True)),
            _run(_backfill_note),
        ],
        ("SO209", "SO303"),
    ),
    Case(
        "remove-self-m2m-pre",
        [migrations.RemoveField("note", "related")],
        "SO102",
        prior=_before(migrations.AddField("note", "related", models.ManyToManyField("self"))),
    ),
    Case(
        "remove-m2m-with-custom-db-table-pre",
        [migrations.RemoveField("note", "orders")],
        "SO102",
        prior=_before(
            migrations.AddField(
                "note",
                "orders",
                models.ManyToManyField("shop.Order", db_table="note_links"),
            )
        ),
    ),
    Case(
        "sql-drop-join-table-pre-deploy",
        [_sql("DROP TABLE shop_coupon_customers")],
        "SO102",
    ),
    Case(
        "post-relax-in-the-same-migration-as-the-drop",
        [
            migrations.AlterField("order", "code", models.CharField(max_length=20, null=True)),
            migrations.RemoveField("order", "code"),
        ],
        "SO101",
        attrs=POST,
    ),
    Case(
        "post-detach-relax-and-drop-at-once",
        [
            CODE_NULLABLE,
            _sql("ALTER TABLE shop_order DROP COLUMN code"),
        ],
        "SO101",
        attrs=POST,
    ),
    Case(
        "post-remove-m2m-whose-join-table-a-view-reads",
        [migrations.RemoveField("coupon", "customers")],
        "SO117",
        attrs=POST,
        prior=_before(JOIN_VIEW),
    ),
    Case(
        "post-delete-model-whose-join-table-a-view-reads",
        [migrations.DeleteModel("coupon")],
        "SO117",
        attrs=POST,
        prior=_before(JOIN_VIEW),
    ),
    Case(
        "do-block-create-index",
        [_sql("DO $$ BEGIN CREATE INDEX o_code ON shop_order (code); END $$")],
        "SO201",
    ),
    Case(
        "do-block-execute-drop-column",
        [_sql("DO $$ BEGIN EXECUTE 'ALTER TABLE shop_order DROP COLUMN legacy'; END $$")],
        "SO101",
    ),
    Case(
        "runpython-schema-editor-create-index",
        [_run(_index_by_hand)],
        "SO201",
    ),
    Case(
        "runpython-schema-editor-drop-column",
        [_run(_drop_by_hand)],
        "SO101",
    ),
    Case(
        "collation-change-of-a-column-a-view-reads",
        [
            migrations.AlterField(
                "order", "legacy", models.CharField(max_length=20, null=True, db_collation="C")
            )
        ],
        "SO117",
    ),
    Case(
        "smallint-to-int",
        [migrations.AlterField("prod", "qty", models.IntegerField(default=0))],
        "SO206",
        prior=_before(*PROD),
    ),
    Case(
        "int-array-to-bigint-array",
        [migrations.AlterField("prod", "sizes", ArrayField(models.BigIntegerField(), null=True))],
        "SO206",
        prior=_before(*PROD),
    ),
    Case(
        "swappable-user-fk-with-index",
        [migrations.AddField("note", "author", _fk(settings.AUTH_USER_MODEL, null=True))],
        "SO201",
    ),
    Case(
        "swappable-user-fk-repoint-validated",
        [migrations.AlterField("coupon", "order", _fk(settings.AUTH_USER_MODEL))],
        ("SO204", "SO206"),
    ),
    Case(
        "post-delete-model-a-view-reads",
        [migrations.DeleteModel("order")],
        ("SO102", "SO117"),
        attrs=POST,
    ),
    # remedied by the planner since session 5 (issue #12: advice turned into files)
    Case(
        "rename-model-with-auto-join-table",
        [migrations.RenameModel("note", "memo")],
        "SO104",
        prior=[([migrations.AddField("order", "notes", models.ManyToManyField("shop.Note"))], {})],
    ),
    Case(
        "sql-rename-table-view-under-another-name",
        [
            migrations.RunSQL(
                [
                    "ALTER TABLE shop_note RENAME TO shop_memo",
                    "CREATE VIEW shop_notes_view AS SELECT * FROM shop_memo",
                ],
                migrations.RunSQL.noop,
            )
        ],
        "SO104",
    ),
    Case(
        "post-sql-drop-column-a-star-view-reads",
        [_sql("ALTER TABLE shop_note DROP COLUMN extra")],
        "SO117",
        attrs=POST,
        prior=[
            (
                [
                    _sql("ALTER TABLE shop_note ADD COLUMN extra text"),
                    _sql("CREATE VIEW shop_note_all AS SELECT * FROM shop_note"),
                ],
                {},
            )
        ],
    ),
    Case(
        "separate-state-runsql-create-index",
        [
            migrations.SeparateDatabaseAndState(
                state_operations=[
                    migrations.AddIndex("note", models.Index(fields=["body"], name="n_body"))
                ],
                database_operations=[_sql("CREATE INDEX n_body ON shop_note (body)")],
            )
        ],
        "SO201",
    ),
    # index kinds and options Django and django.contrib.postgres offer (all build a new
    # index under SHARE without CONCURRENTLY)
    Case(
        "gist-index-on-existing",
        [migrations.AddIndex("order", GistIndex(fields=["amount"], name="order_amount_gist"))],
        "SO201",
    ),
    Case(
        "brin-index-on-existing",
        [migrations.AddIndex("order", BrinIndex(fields=["amount"], name="order_amount_brin"))],
        "SO201",
    ),
    Case(
        "hash-index-on-existing",
        [migrations.AddIndex("order", HashIndex(fields=["code"], name="order_code_hash"))],
        "SO201",
    ),
    Case(
        "covering-index-include",
        [
            migrations.AddIndex(
                "order", models.Index(fields=["code"], include=["amount"], name="order_code_cov")
            )
        ],
        "SO201",
    ),
    Case(
        "opclass-expression-index",
        [
            migrations.AddIndex(
                "order",
                models.Index(
                    OpClass(Lower("code"), name="varchar_pattern_ops"), name="order_lcode_ops"
                ),
            )
        ],
        "SO201",
    ),
    Case(
        "index-together-on-existing",
        [migrations.AlterIndexTogether("order", {("code", "amount")})],
        "SO201",
    ),
    Case(
        "db-index-with-tablespace",
        [
            migrations.AlterField(
                "order",
                "code",
                models.CharField(max_length=20, db_index=True, db_tablespace="pg_default"),
            )
        ],
        "SO201",
    ),
    Case(
        "remove-index-concurrently-in-atomic-migration",
        [RemoveIndexConcurrently("order", "order_amount_idx")],
        "SO210",
    ),
    Case(
        "separate-state-add-index-concurrently-atomic",
        [
            _separate(
                state=[migrations.AddIndex("order", models.Index(fields=["code"], name="o_c"))],
                database=[AddIndexConcurrently("order", models.Index(fields=["code"], name="o_c"))],
            )
        ],
        "SO210",
    ),
    Case(
        "exclusion-constraint-on-existing",
        [
            migrations.AddConstraint(
                "order",
                ExclusionConstraint(
                    name="order_code_excl", expressions=[("code", RangeOperators.EQUAL)]
                ),
            )
        ],
        "SO212",
    ),
    Case(
        "unique-deferrable-on-existing",
        [
            migrations.AddConstraint(
                "order",
                models.UniqueConstraint(
                    fields=["code"], deferrable=models.Deferrable.DEFERRED, name="order_code_def"
                ),
            )
        ],
        ("SO201", "SO203"),
    ),
    Case(
        "unique-nulls-not-distinct-on-existing",
        [
            migrations.AddConstraint(
                "order",
                models.UniqueConstraint(
                    fields=["legacy"], nulls_distinct=False, name="order_legacy_nnd"
                ),
            )
        ],
        ("SO201", "SO203"),
    ),
    Case(
        "add-nullable-unique-field",
        [
            migrations.AddField(
                "order", "ref", models.CharField(max_length=10, null=True, unique=True)
            )
        ],
        ("SO201", "SO203"),
    ),
    Case(
        "add-nullable-db-index-field",
        [
            migrations.AddField(
                "order", "ref", models.CharField(max_length=10, null=True, db_index=True)
            )
        ],
        "SO201",
    ),
    # a foreign key's AlterField: Django drops and re-adds its constraint (validated) for
    # any change it makes in the database, null or db_index included
    Case(
        "fk-made-nullable-revalidates-constraint",
        [migrations.AlterField("coupon", "order", _fk("shop.Order", null=True))],
        "SO204",
    ),
    Case(
        "fk-drop-db-index-revalidates-constraint",
        [migrations.AlterField("coupon", "order", _fk("shop.Order", db_index=False))],
        "SO204",
    ),
    Case(
        "fk-db-constraint-added-back",
        [migrations.AlterField("coupon", "order", _fk("shop.Order"))],
        "SO204",
        prior=_before(
            migrations.AlterField("coupon", "order", _fk("shop.Order", db_constraint=False))
        ),
    ),
    Case(
        "fk-to-one-to-one-adds-unique",
        [
            migrations.AlterField(
                "coupon", "order", models.OneToOneField("shop.Order", models.CASCADE)
            )
        ],
        ("SO201", "SO203", "SO204"),
    ),
    # type changes
    Case(
        "decimal-narrow-precision",
        [
            migrations.AlterField(
                "prod", "price", models.DecimalField(max_digits=8, decimal_places=2)
            )
        ],
        "SO206",
        prior=_before(*PROD),
    ),
    Case(
        "date-to-datetime",
        [migrations.AlterField("order", "day", models.DateTimeField(null=True))],
        "SO206",
        prior=_before(migrations.AddField("order", "day", models.DateField(null=True))),
    ),
    Case(
        "text-to-json",
        [migrations.AlterField("note", "body", models.JSONField(null=True))],
        "SO206",
    ),
    Case(
        "int-to-float",
        [migrations.AlterField("order", "amount", models.FloatField(default=0))],
        "SO206",
    ),
    Case(
        "bigautofield-pk-to-uuid",
        [
            migrations.AlterField(
                "note", "id", models.UUIDField(primary_key=True, default=uuid.uuid4)
            )
        ],
        "SO206",
    ),
    Case(
        "naive-to-aware-datetime-indexed",
        [migrations.AlterField("order", "ts", models.DateTimeField(null=True, db_index=True))],
        "SO206",
        prior=_before(
            migrations.AddField("order", "ts", NaiveDateTimeField(null=True, db_index=True))
        ),
    ),
    # CHECK constraints Django or the SQL add with a column
    Case(
        "positive-field-subclass-add-scans-for-check",
        [migrations.AddField("order", "stars", RatingField(null=True))],
        ("SO205", "SO219"),
    ),
    Case(
        "positive-field-db-default-add-scans-for-check",
        [migrations.AddField("order", "stock", models.PositiveIntegerField(db_default=0))],
        ("SO205", "SO219"),
    ),
    Case(
        "sql-add-column-with-check",
        [_sql("ALTER TABLE shop_order ADD COLUMN stars int CHECK (stars > 0)")],
        ("SO205", "SO219"),
    ),
    # NOT NULL adds through a subclass, a non-atomic migration, other types
    Case(
        "operation-subclass-add-not-null",
        [AddFieldSafe("order", "flag", models.BooleanField(default=False))],
        "SO107",
    ),
    Case(
        "non-atomic-add-not-null",
        [migrations.AddField("order", "flag", models.BooleanField(default=True))],
        "SO107",
        attrs=NON_ATOMIC,
    ),
    Case(
        "binary-not-null-python-default",
        [migrations.AddField("order", "blob", models.BinaryField(default=b""))],
        ("SO107", "SO108"),
    ),
    Case(
        "mti-child-add-not-null",
        [migrations.AddField("restaurant", "stars", models.IntegerField(default=0))],
        "SO107",
    ),
    # raw SQL
    Case(
        "sql-add-column-unique",
        [_sql("ALTER TABLE shop_order ADD COLUMN ref int UNIQUE")],
        ("SO201", "SO203"),
    ),
    Case(
        "sql-add-primary-key",
        [_sql("ALTER TABLE shop_note ADD CONSTRAINT note_body_pk PRIMARY KEY (body)")],
        ("SO201", "SO203", "SO217"),
        prior=_before(_sql("ALTER TABLE shop_note DROP CONSTRAINT shop_note_pkey")),
    ),
    Case(
        "widen-varchar-pk-that-foreign-keys-point-at",
        [migrations.AlterField("sku", "code", models.CharField(max_length=20, primary_key=True))],
        "SO204",
        prior=_before(*SKU),
    ),
    Case(
        "widen-unique-to-field-key",
        [migrations.AlterField("sku", "ean", models.CharField(max_length=14, unique=True))],
        "SO204",
        prior=_before(*SKU),
    ),
    Case(
        "comment-on-a-positive-field-rechecks-it",
        [
            migrations.AlterField(
                "prod", "stock", models.PositiveIntegerField(default=0, db_comment="units")
            )
        ],
        "SO219",
        prior=_before(*PROD),
    ),
    Case(
        "virtual-generated-field-before-postgresql-18",
        [
            migrations.AddField(
                "order",
                "double",
                models.GeneratedField(
                    expression=F("amount") * 2,
                    output_field=models.IntegerField(),
                    db_persist=False,
                ),
            )
        ],
        "SO208",
    ),
    Case("sql-set-logged", [_sql("ALTER TABLE shop_order SET LOGGED")], "SO215"),
    Case(
        "sql-add-identity-column",
        [_sql("ALTER TABLE shop_order ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY")],
        ("SO207", "SO211", "SO215"),
    ),
]

SAFE: list[Case] = [
    # many-to-many
    Case(
        "m2m-add-to-existing-model",
        [migrations.AddField("order", "notes", models.ManyToManyField("shop.Note"))],
        None,
    ),
    Case(
        "m2m-remove-post",
        [migrations.RemoveField("coupon", "customers")],
        None,
        attrs=POST,
    ),
    Case(
        "m2m-through-model-add",
        [*THROUGH],
        None,
    ),
    Case(
        "m2m-blank-change-state-only",
        [
            migrations.AlterField(
                "coupon", "customers", models.ManyToManyField("shop.Customer", blank=True)
            )
        ],
        None,
    ),
    # inheritance, proxies, unmanaged
    Case(
        "proxy-create",
        [SMALL_PLACE],
        None,
    ),
    Case("proxy-delete", [migrations.DeleteModel("bigplace")], None),
    Case(
        "proxy-options",
        [migrations.AlterModelOptions("bigplace", {"verbose_name": "big"})],
        None,
    ),
    Case(
        "mti-child-create",
        [place_child("Cafe", ("wifi", models.BooleanField(default=False)))],
        None,
    ),
    Case("mti-child-delete-post", [migrations.DeleteModel("restaurant")], None, attrs=POST),
    Case(
        "unmanaged-add-field",
        [migrations.AddField("legacy", "y", models.TextField(default="x"))],
        None,
    ),
    Case("unmanaged-delete", [migrations.DeleteModel("legacy")], None),
    Case(
        "unmanaged-create",
        [EXT],
        None,
    ),
    # arrays, JSON, hstore
    Case(
        "array-nullable-add",
        [
            migrations.AddField(
                "note", "tags", ArrayField(models.CharField(max_length=10), null=True)
            )
        ],
        None,
    ),
    Case(
        "json-nullable-add",
        [migrations.AddField("note", "data", models.JSONField(null=True))],
        None,
    ),
    Case(
        "json-db-default-constant",
        [migrations.AddField("note", "data", models.JSONField(db_default=models.Value("{}")))],
        None,
    ),
    Case(
        "gin-index-concurrently-non-atomic",
        [AddIndexConcurrently("event", GinIndex(fields=["tags"], name="event_tags_gin"))],
        None,
        attrs=NON_ATOMIC,
    ),
    # views, materialized views, partitions
    Case("create-view", [_sql("CREATE VIEW shop_note_v AS SELECT id FROM shop_note")], None),
    Case(
        "create-matview",
        [_sql("CREATE MATERIALIZED VIEW shop_note_mv AS SELECT id FROM shop_note")],
        None,
    ),
    Case(
        "refresh-matview-concurrently",
        [_sql("REFRESH MATERIALIZED VIEW CONCURRENTLY shop_event_mv")],
        None,
    ),
    Case(
        "drop-column-no-view-reads-post",
        [migrations.RemoveField("event", "payload")],
        None,
        attrs=POST,
    ),
    Case(
        "index-on-only-partitioned-parent",
        [_sql("CREATE INDEX measure_ts_idx ON ONLY shop_measure (ts)")],
        None,
    ),
    Case(
        "detach-partition-concurrently",
        [_sql("ALTER TABLE shop_measure DETACH PARTITION shop_measure_2024 CONCURRENTLY")],
        None,
        attrs=NON_ATOMIC,
    ),
    Case(
        "create-partitioned-table",
        [
            _sql(
                "CREATE TABLE shop_log (id bigint, ts timestamptz) PARTITION BY RANGE (ts);"
                " CREATE INDEX shop_log_ts ON shop_log (ts)"
            )
        ],
        None,
    ),
    # indexes and constraints done safely
    Case(
        "expression-index-concurrently",
        [AddIndexConcurrently("order", models.Index(Lower("code"), name="order_lower_code"))],
        None,
        attrs=NON_ATOMIC,
    ),
    Case(
        "remove-index-concurrently",
        [RemoveIndexConcurrently("order", "order_amount_idx")],
        None,
        attrs=NON_ATOMIC,
    ),
    Case(
        "index-on-new-table-same-migration",
        [
            migrations.CreateModel(
                "Tag",
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("name", models.CharField(max_length=10)),
                ],
            ),
            migrations.AddIndex("tag", models.Index(Lower("name"), name="tag_lower")),
            migrations.AddConstraint(
                "tag",
                models.UniqueConstraint(
                    fields=["name"], condition=Q(id__gt=0), name="tag_name_uniq"
                ),
            ),
            migrations.AddConstraint(
                "tag", models.CheckConstraint(condition=Q(id__gt=0), name="tag_id_pos")
            ),
        ],
        None,
    ),
    Case(
        "unique-using-index-built-concurrently",
        [
            _sql(
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS order_code_uniq"
                " ON shop_order (code)"
            ),
        ],
        None,
        attrs=NON_ATOMIC,
    ),
    Case(
        "validate-in-a-later-migration",
        [_sql("ALTER TABLE shop_order VALIDATE CONSTRAINT amt")],
        None,
        prior=_before(
            _sql("ALTER TABLE shop_order ADD CONSTRAINT amt CHECK (amount >= 0) NOT VALID")
        ),
    ),
    Case(
        "fk-not-valid",
        [
            _sql(
                "ALTER TABLE shop_note ADD CONSTRAINT note_ord FOREIGN KEY (id)"
                " REFERENCES shop_order (id) NOT VALID"
            )
        ],
        None,
    ),
    Case(
        "nullable-fk-without-index",
        [migrations.AddField("order", "note", _fk("shop.Note", null=True, db_index=False))],
        None,
    ),
    Case(
        "fk-drop-db-constraint",
        [migrations.AlterField("coupon", "order", _fk("shop.Order", db_constraint=False))],
        None,
    ),
    Case(
        "fk-on-new-table",
        [
            migrations.CreateModel(
                "Line",
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("order", _fk("shop.Order")),
                    ("qty", models.PositiveIntegerField()),
                ],
            )
        ],
        None,
    ),
    # post-deploy contract done right
    Case("post-drop-nullable", [migrations.RemoveField("note", "body")], None, attrs=POST),
    Case(
        "post-drop-db-defaulted",
        [migrations.RemoveField("note", "body")],
        None,
        attrs=POST,
        prior=_before(migrations.AlterField("note", "body", models.TextField(db_default=""))),
    ),
    Case(
        "post-sql-drop-after-made-nullable",
        [_sql("ALTER TABLE shop_order DROP COLUMN code")],
        None,
        attrs=POST,
        prior=_before(CODE_NULLABLE),
    ),
    Case("post-delete-model", [migrations.DeleteModel("note")], None, attrs=POST),
    Case(
        "post-drop-db-default",
        [migrations.AlterField("note", "body", models.TextField(null=True))],
        None,
        attrs=POST,
        prior=_before(
            migrations.AlterField("note", "body", models.TextField(null=True, db_default=""))
        ),
    ),
    Case(
        "state-only-removal-made-nullable",
        [CODE_NULLABLE],
        None,
    ),
    Case(
        "state-only-removal-nullable",
        [_separate(state=[migrations.RemoveField("order", "legacy")])],
        None,
    ),
    Case(
        "post-drop-nullable-then-depends-pre",
        [migrations.RemoveField("note", "body")],
        None,
        attrs=POST,
        prior=_before(migrations.AddField("note", "t", models.TextField(null=True))),
    ),
    # renames kept in the database
    Case(
        "rename-field-keeping-db-column",
        [
            migrations.AlterField("note", "body", models.TextField(null=True, db_column="body")),
            migrations.RenameField("note", "body", "text"),
        ],
        None,
    ),
    Case(
        "rename-model-keeping-db-table",
        [
            migrations.AlterModelTable("note", "shop_note"),
            migrations.RenameModel("note", "memo"),
        ],
        None,
    ),
    # defaults
    Case(
        "db-default-constant-not-null",
        [migrations.AddField("note", "n", models.IntegerField(db_default=0))],
        None,
    ),
    Case(
        "db-default-now-is-stable",
        [migrations.AddField("note", "at", models.DateTimeField(db_default=Now()))],
        None,
    ),
    Case(
        "db-default-and-python-default",
        [
            migrations.AddField(
                "note", "s", models.CharField(max_length=5, default="a", db_default="a")
            )
        ],
        None,
    ),
    Case(
        "set-db-default-on-existing-column",
        [migrations.AlterField("order", "amount", models.IntegerField(default=0, db_default=0))],
        None,
    ),
    Case(
        "nullable-column-add",
        [migrations.AddField("order", "remark", models.CharField(max_length=20, null=True))],
        None,
    ),
    Case(
        "nullable-boolean-add",
        [migrations.AddField("order", "flag", models.BooleanField(null=True))],
        None,
    ),
    Case(
        "generated-on-new-table",
        [*BOX],
        None,
    ),
    Case(
        "not-null-with-default-on-new-table",
        [
            migrations.CreateModel("Tag", [("id", models.BigAutoField(primary_key=True))]),
            migrations.AddField("tag", "label", models.CharField(max_length=5, default="")),
        ],
        None,
    ),
    # type changes PostgreSQL does in the catalog
    Case(
        "widen-varchar",
        [migrations.AlterField("order", "code", models.CharField(max_length=200))],
        None,
    ),
    Case(
        "widen-indexed-varchar",
        [migrations.AlterField("event", "slug", models.CharField(max_length=100, db_index=True))],
        None,
    ),
    Case(
        "varchar-to-text",
        [migrations.AlterField("order", "code", models.TextField())],
        None,
    ),
    Case(
        "drop-not-null",
        [migrations.AlterField("order", "code", models.CharField(max_length=20, null=True))],
        None,
    ),
    Case(
        "choices-and-help-text-only",
        [
            migrations.AlterField(
                "order",
                "code",
                models.CharField(max_length=20, choices=[("a", "A")], help_text="x"),
            )
        ],
        None,
    ),
    Case(
        "set-not-null-via-validated-check",
        [migrations.AlterField("order", "legacy", models.CharField(max_length=20))],
        None,
        prior=_before(
            _sql(
                "ALTER TABLE shop_order ADD CONSTRAINT legacy_nn"
                " CHECK (legacy IS NOT NULL) NOT VALID"
            )
        )
        + _before(_sql("ALTER TABLE shop_order VALIDATE CONSTRAINT legacy_nn")),
    ),
    # state-only and squashed
    Case(
        "state-only-add-field",
        [
            _separate(
                state=[migrations.AddField("order", "x", models.IntegerField(null=True))],
                database=[_sql("ALTER TABLE shop_order ADD COLUMN IF NOT EXISTS x integer NULL")],
            )
        ],
        None,
    ),
    Case(
        "model-options-only",
        [migrations.AlterModelOptions("order", {"ordering": ["-id"], "verbose_name": "o"})],
        None,
    ),
    Case(
        "squashed-unsafe-on-empty-tables",
        [
            migrations.AddIndex("order", models.Index(fields=["code"], name="order_code_idx")),
            migrations.RemoveField("order", "legacy"),
            migrations.AddField("order", "sku", models.CharField(max_length=5, default="")),
            migrations.AlterField("order", "amount", models.BigIntegerField(default=0)),
        ],
        None,
        attrs=SQUASHED,
    ),
    Case(
        "new-model-with-indexes-and-m2m",
        [
            migrations.CreateModel(
                "Tag",
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("name", models.CharField(max_length=10, unique=True)),
                    ("orders", models.ManyToManyField("shop.Order")),
                ],
            )
        ],
        None,
    ),
    Case(
        "runsql-analyze",
        [_sql("ANALYZE shop_order")],
        None,
    ),
    Case(
        "concurrent-index-sql-non-atomic",
        [_sql("CREATE INDEX CONCURRENTLY IF NOT EXISTS note_body_idx ON shop_note (body)")],
        None,
        attrs=NON_ATOMIC,
    ),
    Case(
        "db-default-add-model-with-note",
        [
            migrations.AddField(
                "order",
                "tags",
                ArrayField(
                    models.TextField(),
                    db_default=models.Value([]),
                ),
            )
        ],
        None,
    ),
    Case(
        "remove-index-brief-lock-is-a-warning",
        [migrations.RemoveIndex("order", "order_amount_idx")],
        None,
    ),
    Case("lock-table-alone", [_sql("LOCK TABLE shop_note IN ACCESS EXCLUSIVE MODE")], None),
    Case(
        "drop-db-default-of-nullable-pre",
        [migrations.AlterField("note", "body", models.TextField(null=True))],
        None,
        prior=_before(
            migrations.AlterField("note", "body", models.TextField(null=True, db_default=""))
        ),
    ),
    Case(
        "set-volatile-db-default-on-existing-column",
        [
            migrations.AlterField(
                "event", "kind", models.UUIDField(null=True, db_default=RandomUUID())
            )
        ],
        None,
        prior=_before(migrations.AlterField("event", "kind", models.UUIDField(null=True))),
    ),
    Case(
        "rename-index",
        [migrations.RenameIndex("order", "order_amt_idx", old_name="order_amount_idx")],
        None,
    ),
    Case(
        "fk-on-delete-and-related-name",
        [
            migrations.AlterField(
                "coupon",
                "order",
                models.ForeignKey("shop.Order", models.PROTECT, related_name="cs"),
            )
        ],
        None,
    ),
    Case(
        "remove-unique-constraint",
        [migrations.RemoveConstraint("order", "order_code_u")],
        None,
        prior=_before(
            migrations.AddConstraint(
                "order", models.UniqueConstraint(fields=["code"], name="order_code_u")
            )
        ),
    ),
    Case(
        "sql-add-column-constant-default-kept",
        [_sql("ALTER TABLE shop_order ADD COLUMN flag boolean NOT NULL DEFAULT false")],
        None,
    ),
    Case(
        "sql-attach-new-partition",
        [
            _sql(
                "CREATE TABLE shop_measure_2025 (LIKE shop_measure);"
                " ALTER TABLE shop_measure ATTACH PARTITION shop_measure_2025"
                " FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')"
            )
        ],
        None,
    ),
    Case(
        "create-or-replace-view",
        [_sql("CREATE OR REPLACE VIEW shop_order_v AS SELECT id, legacy, code FROM shop_order")],
        None,
    ),
    Case(
        "json-encoder-change-state-only",
        [
            migrations.AlterField(
                "event",
                "payload",
                models.JSONField(
                    null=True,
                    encoder=__import__(
                        "django.core.serializers.json", fromlist=["x"]
                    ).DjangoJSONEncoder,
                ),
            )
        ],
        None,
    ),
    Case(
        "post-remove-not-null-after-db-made-nullable",
        [migrations.RemoveField("coupon", "order")],
        None,
        attrs=POST,
        prior=_before(
            _separate(
                database=[migrations.AlterField("coupon", "order", _fk("shop.Order", null=True))]
            )
        ),
    ),
    Case(
        "nullable-fk-to-self-without-index",
        [migrations.AddField("note", "parent", _fk("shop.Note", null=True, db_index=False))],
        None,
    ),
    Case(
        "unique-constraint-using-concurrent-index",
        [
            _separate(
                state=[
                    migrations.AddConstraint(
                        "order", models.UniqueConstraint(fields=["code"], name="order_code_uniq")
                    )
                ],
                database=[
                    _sql(
                        "ALTER TABLE shop_order ADD CONSTRAINT order_code_uniq"
                        " UNIQUE USING INDEX order_code_uniq"
                    )
                ],
            )
        ],
        None,
        prior=_before(
            _sql("CREATE UNIQUE INDEX CONCURRENTLY order_code_uniq ON shop_order (code)"),
            attrs=NON_ATOMIC,
        ),
    ),
    Case(
        "remove-m2m-with-through-keeps-table",
        [migrations.RemoveField("order", "notes")],
        None,
        prior=_before(*THROUGH),
    ),
    Case(
        "state-only-removal-with-db-default-from-db-ops",
        [
            _separate(
                state=[migrations.RemoveField("order", "code")],
                database=[
                    migrations.AlterField(
                        "order", "code", models.CharField(max_length=20, db_default="")
                    )
                ],
            )
        ],
        None,
    ),
    Case(
        "state-only-removal-with-sql-set-default",
        [
            _separate(
                state=[migrations.RemoveField("order", "code")],
                database=[_sql("ALTER TABLE shop_order ALTER COLUMN code SET DEFAULT ''")],
            )
        ],
        None,
    ),
    Case(
        "state-only-model-move-out-of-app",
        [_separate(state=[migrations.DeleteModel("note")])],
        None,
    ),
    Case(
        "post-drop-after-sql-set-default",
        [migrations.RemoveField("order", "code")],
        None,
        attrs=POST,
        prior=_before(_sql("ALTER TABLE shop_order ALTER COLUMN code SET DEFAULT ''")),
    ),
    Case(
        "post-drop-nullable-fk",
        [migrations.RemoveField("event", "order")],
        None,
        attrs=POST,
        prior=_before(migrations.AddField("event", "order", _fk("shop.Order", null=True))),
    ),
    Case(
        "remove-field-of-table-created-same-migration",
        [
            migrations.CreateModel(
                "Tag",
                [("id", models.BigAutoField(primary_key=True)), ("x", models.TextField())],
            ),
            migrations.RemoveField("tag", "x"),
        ],
        None,
    ),
    Case(
        "set-db-default-on-column-a-view-reads",
        [
            migrations.AlterField(
                "order", "legacy", models.CharField(max_length=20, null=True, db_default="x")
            )
        ],
        None,
    ),
    Case(
        "db-comment-on-column-a-view-reads",
        [
            migrations.AlterField(
                "order", "legacy", models.CharField(max_length=20, null=True, db_comment="old")
            )
        ],
        None,
    ),
    Case("drop-view-pre", [_sql("DROP VIEW shop_order_v")], None),
    Case("drop-view-post", [_sql("DROP VIEW shop_order_v")], None, attrs=POST),
    Case(
        "drop-view-after-its-model-left-post",
        [migrations.DeleteModel("OrderView"), _sql("DROP VIEW shop_order_v")],
        None,
        attrs=POST,
        prior=[([VIEW_MODEL], {})],
    ),
    Case(
        "drop-and-create-view-again",
        [
            _sql("DROP VIEW shop_order_v"),
            _sql("CREATE VIEW shop_order_v AS SELECT id, legacy, code FROM shop_order"),
        ],
        None,
        prior=[([VIEW_MODEL], {})],
    ),
    Case(
        "runpython-alone-with-reverse",
        [_run(_backfill_note)],
        None,
    ),
    Case(
        "runpython-in-its-own-migration-after-add",
        [_run(_backfill)],
        None,
        prior=_before(migrations.AddField("order", "paid", models.BooleanField(null=True))),
    ),
    Case(
        "truncate-table-created-same-migration",
        [
            migrations.CreateModel("Tag", [("id", models.BigAutoField(primary_key=True))]),
            _sql("TRUNCATE shop_tag"),
        ],
        None,
    ),
    Case(
        "help-text-on-column-a-view-reads",
        [
            migrations.AlterField(
                "order", "legacy", models.CharField(max_length=20, null=True, help_text="h")
            )
        ],
        None,
    ),
    Case("sql-set-fillfactor", [_sql("ALTER TABLE shop_order SET (fillfactor = 70)")], None),
    Case("sql-vacuum-analyze", [_sql("VACUUM ANALYZE shop_order")], None, attrs=NON_ATOMIC),
    Case(
        "cluster-table-created-same-migration",
        [
            _sql("CREATE TABLE shop_tmp (id int PRIMARY KEY)"),
            _sql("CLUSTER shop_tmp USING shop_tmp_pkey"),
        ],
        None,
    ),
    Case(
        "callable-default-nullable",
        [
            migrations.AddField(
                "note",
                "at",
                models.DateTimeField(
                    null=True, default=__import__("django.utils.timezone", fromlist=["now"]).now
                ),
            )
        ],
        None,
    ),
    Case(
        "nullable-with-constant-python-default",
        [migrations.AddField("note", "s", models.CharField(max_length=5, null=True, default=""))],
        None,
    ),
    Case(
        "callable-default-on-new-table",
        [
            migrations.CreateModel(
                "Tok",
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("uid", models.UUIDField(default=__import__("uuid").uuid4, unique=True)),
                ],
            )
        ],
        None,
    ),
    Case(
        "non-atomic-add-then-runpython",
        [
            migrations.AddField("order", "paid", models.BooleanField(null=True)),
            _run(_backfill),
        ],
        None,
        attrs=NON_ATOMIC,
    ),
    Case(
        "post-add-index-concurrently",
        [AddIndexConcurrently("order", models.Index(fields=["code"], name="order_code_idx"))],
        None,
        attrs={**POST, **NON_ATOMIC},
    ),
    Case(
        "post-sql-create-index-concurrently",
        [_sql("CREATE INDEX CONCURRENTLY IF NOT EXISTS order_code_idx ON shop_order (code)")],
        None,
        attrs={**POST, **NON_ATOMIC},
    ),
    Case(
        "post-set-db-default",
        [
            migrations.AlterField(
                "order", "legacy", models.CharField(max_length=20, null=True, db_default="")
            )
        ],
        None,
        attrs=POST,
    ),
    Case(
        "post-remove-index-concurrently",
        [RemoveIndexConcurrently("order", "order_amount_idx")],
        None,
        attrs={**POST, **NON_ATOMIC},
    ),
    Case(
        "squashed-drop-and-repoint",
        [
            migrations.RemoveField("coupon", "customers"),
            migrations.AlterField("coupon", "order", _fk("shop.Note")),
            _sql("DROP TABLE shop_event CASCADE"),
        ],
        None,
        attrs=SQUASHED,
    ),
    Case(
        "sql-insert-select-data",
        [_sql("INSERT INTO shop_note (body) SELECT code FROM shop_order WHERE amount > 1000")],
        None,
    ),
    Case(
        "state-only-removal-m2m",
        [_separate(state=[migrations.RemoveField("coupon", "customers")])],
        None,
    ),
    Case(
        "state-only-removal-generated-column",
        [_separate(state=[migrations.RemoveField("box", "w2")])],
        None,
        prior=_before(*BOX),
    ),
    Case(
        "state-only-add-with-db-default-kept-by-sql",
        [
            _separate(
                state=[migrations.AddField("order", "paid", models.BooleanField(default=False))],
                database=[
                    _sql("ALTER TABLE shop_order ADD COLUMN paid boolean NOT NULL DEFAULT false")
                ],
            )
        ],
        None,
    ),
    Case(
        "post-sql-add-constraint-not-valid",
        [_sql("ALTER TABLE shop_order ADD CONSTRAINT amt CHECK (amount >= 0) NOT VALID")],
        None,
        attrs=POST,
    ),
    Case(
        "post-create-unmanaged-model",
        [EXT],
        None,
        attrs=POST,
    ),
    Case(
        "post-add-field-to-unmanaged",
        [migrations.AddField("legacy", "y", models.TextField(null=True))],
        None,
        attrs=POST,
    ),
    Case(
        "post-create-proxy",
        [SMALL_PLACE],
        None,
        attrs=POST,
    ),
    Case(
        "drop-view-alter-recreate-same-migration",
        [
            _sql("DROP VIEW shop_order_v"),
            migrations.AlterField("order", "legacy", models.CharField(max_length=50, null=True)),
            _sql("CREATE VIEW shop_order_v AS SELECT id, legacy FROM shop_order"),
        ],
        None,
    ),
    Case(
        "drop-matview-drop-column-recreate-post",
        [
            _sql("DROP MATERIALIZED VIEW shop_event_mv"),
            migrations.RemoveField("event", "kind"),
            _sql("CREATE MATERIALIZED VIEW shop_event_mv AS SELECT id FROM shop_event"),
        ],
        None,
        attrs=POST,
    ),
    Case("squashed-truncate", [_sql("TRUNCATE shop_note")], None, attrs=SQUASHED),
    Case(
        "sql-update-table-created-same-migration",
        [
            migrations.CreateModel(
                "Tag",
                [("id", models.BigAutoField(primary_key=True)), ("n", models.TextField())],
            ),
            _sql("INSERT INTO shop_tag (n) VALUES ('a'); UPDATE shop_tag SET n = 'b'"),
        ],
        None,
    ),
    Case(
        "seed-lookup-table-created-same-migration",
        [
            migrations.CreateModel(
                "Tag",
                [("id", models.BigAutoField(primary_key=True)), ("n", models.TextField())],
            ),
            _run(_seed_tags),
        ],
        None,
    ),
    Case(
        "runpython-after-state-only-alter",
        [
            migrations.AlterField(
                "order", "code", models.CharField(max_length=20, verbose_name="Code")
            ),
            _run(_backfill_note),
        ],
        None,
    ),
    Case(
        "runpython-after-model-options",
        [
            migrations.AlterModelOptions("note", {"ordering": ["id"]}),
            _run(_backfill_note),
        ],
        None,
    ),
    Case(
        "runpython-after-add-field-on-new-table",
        [
            migrations.CreateModel("Tag", [("id", models.BigAutoField(primary_key=True))]),
            migrations.AddField("tag", "n", models.TextField(default="")),
            _run(_seed_tags_n),
        ],
        None,
    ),
    Case(
        "post-sql-drop-table-after-state-only-delete",
        [_sql("DROP TABLE IF EXISTS shop_note")],
        None,
        attrs=POST,
        prior=_before(_separate(state=[migrations.DeleteModel("note")])),
    ),
    Case(
        "sql-update-after-concurrent-index-non-atomic",
        [
            _sql("CREATE INDEX CONCURRENTLY IF NOT EXISTS note_body_idx ON shop_note (body)"),
            _sql("UPDATE shop_note SET body = '' WHERE id < 100"),
        ],
        None,
        attrs=NON_ATOMIC,
    ),
    Case(
        "change-db-default-value",
        [migrations.AlterField("note", "body", models.TextField(db_default="y"))],
        None,
        prior=_before(migrations.AlterField("note", "body", models.TextField(db_default="x"))),
    ),
    Case(
        "positive-int-to-int-drops-check",
        [migrations.AlterField("prod", "stock", models.IntegerField(default=0))],
        None,
        prior=_before(*PROD),
    ),
    Case(
        "collation-change-non-indexed",
        [migrations.AlterField("note", "body", models.TextField(null=True, db_collation="C"))],
        None,
    ),
    Case(
        "swappable-user-fk-nullable-without-index",
        [
            migrations.AddField(
                "note", "author", _fk(settings.AUTH_USER_MODEL, null=True, db_index=False)
            )
        ],
        None,
    ),
    Case(
        "swappable-user-fk-on-new-table",
        [
            migrations.CreateModel(
                "Profile",
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("user", models.OneToOneField(settings.AUTH_USER_MODEL, models.CASCADE)),
                ],
            )
        ],
        None,
    ),
    Case(
        "decimal-widen-precision",
        [
            migrations.AlterField(
                "prod", "price", models.DecimalField(max_digits=14, decimal_places=2)
            )
        ],
        None,
        prior=_before(*PROD),
    ),
    Case(
        "varchar-drop-length-limit",
        [migrations.AlterField("order", "code", models.CharField())],
        None,
    ),
    # what the planner writes for the two cases above
    Case(
        "rename-model-keeping-auto-join-table",
        [
            migrations.SeparateDatabaseAndState(
                state_operations=[
                    migrations.CreateModel(
                        "MemoNotes",
                        [
                            ("id", models.BigAutoField(primary_key=True)),
                            ("order", _fk("shop.Order")),
                            ("note", _fk("shop.Note")),
                        ],
                        options={
                            "db_table": "shop_order_notes",
                            "unique_together": {("order", "note")},
                        },
                    ),
                    migrations.AlterField(
                        "order",
                        "notes",
                        models.ManyToManyField("shop.Note", through="shop.MemoNotes"),
                    ),
                    migrations.RenameModel("note", "memo"),
                    migrations.AlterModelTable("memo", "shop_note"),
                ]
            )
        ],
        None,
        prior=[([migrations.AddField("order", "notes", models.ManyToManyField("shop.Note"))], {})],
    ),
    Case(
        "alter-model-table-with-view",
        [
            migrations.SeparateDatabaseAndState(
                state_operations=[migrations.AlterModelTable("note", "shop_memo")],
                database_operations=[
                    migrations.RunSQL(
                        [
                            "ALTER TABLE shop_note RENAME TO shop_memo",
                            "CREATE VIEW shop_note AS SELECT * FROM shop_memo",
                        ],
                        migrations.RunSQL.noop,
                    )
                ],
            )
        ],
        None,
    ),
    Case(
        "post-sql-drop-column-with-the-star-view-recreated",
        [
            _sql(
                "DROP VIEW IF EXISTS shop_note_all; ALTER TABLE shop_note DROP COLUMN extra; "
                "CREATE VIEW shop_note_all AS SELECT * FROM shop_note"
            )
        ],
        None,
        attrs=POST,
        prior=[
            (
                [
                    _sql("ALTER TABLE shop_note ADD COLUMN extra text"),
                    _sql("CREATE VIEW shop_note_all AS SELECT * FROM shop_note"),
                ],
                {},
            )
        ],
    ),
    Case(
        "separate-state-runsql-create-index-concurrently",
        [
            migrations.SeparateDatabaseAndState(
                state_operations=[
                    migrations.AddIndex("note", models.Index(fields=["body"], name="n_body"))
                ],
                database_operations=[
                    _sql("CREATE INDEX CONCURRENTLY IF NOT EXISTS n_body ON shop_note (body)")
                ],
            )
        ],
        None,
        attrs=NON_ATOMIC,
    ),
    # django.contrib.postgres operations that lock no table
    Case("create-extension", [CreateExtension("pg_trgm")], None),
    Case("btree-gin-extension", [BtreeGinExtension()], None),
    Case("trigram-extension", [TrigramExtension()], None),
    Case(
        "create-collation",
        [
            CreateCollation(
                "german_ci", provider="icu", locale="de-u-ks-level2", deterministic=False
            )
        ],
        None,
    ),
    Case(
        "check-not-valid-alone",
        [AddConstraintNotValid("order", models.CheckConstraint(condition=AMOUNT_POS, name="ap"))],
        None,
    ),
    Case(
        "validate-constraint-op-in-a-later-migration",
        [ValidateConstraint("order", "ap")],
        None,
        prior=_before(
            AddConstraintNotValid("order", models.CheckConstraint(condition=AMOUNT_POS, name="ap"))
        ),
    ),
    Case(
        "add-index-concurrently-partial-non-atomic",
        [
            AddIndexConcurrently(
                "order",
                models.Index(fields=["code"], condition=Q(amount__gt=0), name="order_code_pos"),
            )
        ],
        None,
        attrs=NON_ATOMIC,
    ),
    Case(
        "add-index-concurrently-on-new-table-non-atomic",
        [
            migrations.CreateModel(
                "Tag",
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("n", models.CharField(max_length=5)),
                ],
            ),
            AddIndexConcurrently("tag", models.Index(fields=["n"], name="tag_n")),
        ],
        None,
        attrs=NON_ATOMIC,
    ),
    # old migrations' together options, renames, comments
    Case(
        "rename-index-from-old-fields",
        [migrations.RenameIndex("order", new_name="order_ca", old_fields=("code", "amount"))],
        None,
        prior=_before(migrations.AlterIndexTogether("order", {("code", "amount")})),
    ),
    Case(
        "remove-unique-together",
        [migrations.AlterUniqueTogether("order", set())],
        None,
        prior=_before(migrations.AlterUniqueTogether("order", {("code", "amount")})),
    ),
    Case("table-comment", [migrations.AlterModelTableComment("order", "orders")], None),
    Case(
        "column-comment-change",
        [migrations.AlterField("order", "code", models.CharField(max_length=20, db_comment="c"))],
        None,
    ),
    Case(
        "add-nullable-field-with-comment",
        [migrations.AddField("order", "memo", models.TextField(null=True, db_comment="a memo"))],
        None,
    ),
    # field changes without a rewrite, scan or new index
    Case(
        "char-to-email-same-length",
        [migrations.AlterField("order", "code", models.EmailField(max_length=20))],
        None,
    ),
    Case(
        "drop-unique-of-a-field",
        [migrations.AlterField("customer", "email", models.CharField(max_length=100))],
        None,
        prior=_before(
            migrations.AlterField(
                "customer", "email", models.CharField(max_length=100, unique=True)
            )
        ),
    ),
    Case(
        "drop-db-index-of-a-field",
        [migrations.AlterField("event", "slug", models.CharField(max_length=30))],
        None,
    ),
    Case(
        "python-default-change-only",
        [migrations.AlterField("order", "amount", models.IntegerField(default=5))],
        None,
    ),
    Case(
        "array-size-change",
        [
            migrations.AlterField(
                "event", "tags", ArrayField(models.CharField(max_length=20), null=True, size=5)
            )
        ],
        None,
    ),
    Case(
        "alter-field-of-unmanaged-model",
        [migrations.AlterField("legacy", "x", models.CharField(max_length=5))],
        None,
    ),
    Case(
        "remove-check-constraint",
        [migrations.RemoveConstraint("order", "ap")],
        None,
        prior=_before(
            migrations.AddConstraint(
                "order", models.CheckConstraint(condition=AMOUNT_POS, name="ap")
            )
        ),
    ),
    # timestamp -> timestamptz in Django's UTC session (USE_TZ): no rewrite, no index
    Case(
        "naive-to-aware-datetime",
        [migrations.AlterField("order", "ts", models.DateTimeField(null=True))],
        None,
        prior=_before(migrations.AddField("order", "ts", NaiveDateTimeField(null=True))),
    ),
    Case(
        "aware-to-naive-datetime",
        [migrations.AlterField("order", "ts", NaiveDateTimeField(null=True))],
        None,
        prior=_before(migrations.AddField("order", "ts", models.DateTimeField(null=True))),
    ),
    Case(
        "sql-naive-to-aware-datetime",
        [_sql("ALTER TABLE shop_order ALTER COLUMN ts TYPE timestamptz")],
        None,
        prior=_before(migrations.AddField("order", "ts", NaiveDateTimeField(null=True))),
    ),
    # nullable adds of other types, subclasses, new models
    Case(
        "nullable-adds-of-other-types",
        [
            migrations.AddField("order", "took", models.DurationField(null=True)),
            migrations.AddField("order", "ip", models.GenericIPAddressField(null=True)),
            migrations.AddField("order", "blob", models.BinaryField(null=True)),
            migrations.AddField("order", "span", DateTimeRangeField(null=True)),
        ],
        None,
    ),
    Case(
        "operation-subclass-add-nullable",
        [AddFieldSafe("order", "flag", models.BooleanField(null=True))],
        None,
    ),
    Case(
        "composite-primary-key-new-model",
        [
            migrations.CreateModel(
                "Line",
                [
                    ("pk", models.CompositePrimaryKey("order_id", "n")),
                    ("order", _fk("shop.Order")),
                    ("n", models.IntegerField()),
                ],
            )
        ],
        None,
    ),
    Case(
        "m2m-through-model-over-existing-tables",
        [
            migrations.CreateModel(
                "Link",
                [
                    ("id", models.BigAutoField(primary_key=True)),
                    ("order", _fk("shop.Order")),
                    ("note", _fk("shop.Note")),
                ],
            ),
            migrations.AddField(
                "order",
                "links",
                models.ManyToManyField("shop.Note", through="shop.Link", related_name="+"),
            ),
        ],
        None,
    ),
    Case(
        "fk-without-db-constraint-add",
        [
            migrations.AddField(
                "order",
                "note",
                models.ForeignKey(
                    "shop.Note", models.DO_NOTHING, null=True, db_constraint=False, db_index=False
                ),
            )
        ],
        None,
    ),
    # a third-party operation shaped like django-pgtrigger's: its SQL is read
    Case("trigger-operation", [AddTriggerLike("order")], None),
    # raw SQL that takes a brief lock, or none
    Case(
        "sql-create-trigger",
        [
            _sql(
                "CREATE FUNCTION shop_touch() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RETURN NEW; END $$; CREATE TRIGGER shop_touch BEFORE UPDATE ON "
                "shop_order FOR EACH ROW EXECUTE FUNCTION shop_touch()"
            )
        ],
        None,
    ),
    Case(
        "sql-enable-row-level-security",
        [_sql("ALTER TABLE shop_order ENABLE ROW LEVEL SECURITY")],
        None,
    ),
    Case("sql-replica-identity-full", [_sql("ALTER TABLE shop_order REPLICA IDENTITY FULL")], None),
    Case(
        "sql-set-statistics",
        [_sql("ALTER TABLE shop_order ALTER COLUMN code SET STATISTICS 500")],
        None,
    ),
    Case("sql-grant", [_sql("GRANT SELECT ON shop_order TO PUBLIC")], None),
    Case("sql-comment-on-table", [_sql("COMMENT ON TABLE shop_order IS 'orders'")], None),
    Case(
        "sql-add-identity-to-existing-column",
        [_sql("ALTER TABLE shop_order ALTER COLUMN amount ADD GENERATED BY DEFAULT AS IDENTITY")],
        None,
    ),
    Case(
        "sql-widen-varchar",
        [_sql("ALTER TABLE shop_order ALTER COLUMN code TYPE varchar(40)")],
        None,
    ),
    Case(
        "rich-new-model-altered-in-the-same-migration",
        [
            migrations.CreateModel(
                "Thing",
                [
                    ("id", models.UUIDField(primary_key=True, default=uuid.uuid4)),
                    ("code", models.CharField(max_length=20, unique=True)),
                    ("n", models.PositiveIntegerField(default=0)),
                    ("at", models.DateTimeField(db_default=Now())),
                    ("order", _fk("shop.Order")),
                    ("tags", ArrayField(models.CharField(max_length=10), default=list)),
                    ("notes", models.ManyToManyField("shop.Note")),
                    (
                        "double",
                        models.GeneratedField(
                            expression=F("n") * 2,
                            output_field=models.IntegerField(),
                            db_persist=True,
                        ),
                    ),
                ],
                options={
                    "indexes": [GistIndex(fields=["n"], name="thing_n_gist")],
                    "constraints": [
                        models.CheckConstraint(condition=Q(n__lt=100), name="thing_n_lt")
                    ],
                },
            ),
            migrations.AlterField("thing", "code", models.CharField(max_length=5, unique=True)),
            migrations.AddField("thing", "extra", models.IntegerField(default=1)),
            migrations.AlterField(
                "thing", "n", models.PositiveIntegerField(default=0, db_comment="units")
            ),
        ],
        None,
    ),
    Case(
        "db-default-of-an-immutable-django-function",
        [migrations.AddField("order", "ratio", models.FloatField(db_default=Pi()))],
        None,
    ),
    Case(
        "widen-varchar-pk-nothing-points-at",
        [migrations.AlterField("sku", "code", models.CharField(max_length=20, primary_key=True))],
        None,
        prior=_before(SKU[0]),
    ),
    Case(
        "sql-restart-sequence",
        [_sql("ALTER SEQUENCE shop_order_id_seq RESTART WITH 1000")],
        None,
    ),
]


CASES = UNSAFE + SAFE


def _params(cases: list[Case], xfail: Callable[[Case], str | None] | None = None) -> list[Any]:
    """One pytest param per case, named by its id; strictly xfail where ``xfail`` gives
    a reason (by default the case's own ``xfail``)."""
    out = []
    for case in cases:
        reason = xfail(case) if xfail else case.xfail
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


@pytest.mark.parametrize("case", _params(UNSAFE))
def test_unsafe_change_is_an_error(case: Case) -> None:
    findings, _ = run(case)
    found = errors(findings)
    assert found & set(case.codes), f"{case.id}: expected one of {case.codes}, errors {found}"


@pytest.mark.parametrize("case", _params(SAFE))
def test_safe_change_is_no_error(case: Case) -> None:
    findings, _ = run(case)
    assert not errors(findings), [
        (f.code, f.message) for f in findings if f.severity >= Severity.ERROR
    ]


def remedies_by_operation(case: Case, config: Config = QUIET) -> dict[int, set[str]]:
    """What ``check --format json`` shows per operation: the shared remedy key, or each
    finding's own recipe when the planner has none (warnings and errors only)."""
    from schemaops.remedy.attach import attach_remedies

    findings, loader = run(case, config)
    attach_remedies(findings, loader)
    out: dict[int, set[str]] = {}
    for f in findings:
        if f.operation is not None and f.recipe and f.severity >= Severity.WARNING:
            out.setdefault(f.operation, set()).add(f.remedy or f.recipe)
    return out


MULTI_REMEDY: dict[str, str] = {}  # operation id -> why it still carries two remedies


@pytest.mark.parametrize("case", _params(CASES, lambda case: MULTI_REMEDY.get(case.id)))
def test_at_most_one_remedy_per_operation(case: Case) -> None:
    many = {op: r for op, r in remedies_by_operation(case).items() if len(r) > 1}
    assert not many, f"{case.id}: operations with more than one remedy: {sorted(many)}"


def test_the_labelled_set_is_balanced() -> None:
    """At least 80 cases, about half of each kind, every id unique."""
    ids = [c.id for c in CASES]
    assert len(ids) >= 80 and len(set(ids)) == len(ids)
    assert 0.4 <= len(UNSAFE) / len(ids) <= 0.6


def measure(config: Config = QUIET) -> None:
    caught, errored, multi, ops = [], [], [], 0
    for case in CASES:
        found = errors(run(case, config)[0])
        if case.expect and found & set(case.codes):
            caught.append(case.id)
        if not case.expect and found:
            errored.append((case.id, sorted(found)))
        by_op = remedies_by_operation(case, config)
        ops += len(by_op)
        multi += [(case.id, op) for op, r in by_op.items() if len(r) > 1]
    missed = [(c.id, sorted(errors(run(c, config)[0]))) for c in UNSAFE if c.id not in caught]
    print(f"unsafe caught {len(caught)}/{len(UNSAFE)}")
    print(f"safe errored {len(errored)}/{len(SAFE)}")
    print(f"operations with more than one remedy {len(multi)}/{ops}")
    print("missed:", *missed, sep="\n  ")
    print("false errors:", *errored, sep="\n  ")
    print("multi-remedy:", *multi, sep="\n  ")


if __name__ == "__main__":
    measure(Config() if "--timeouts" in sys.argv else QUIET)


def test_the_lock_timeout_recipe_is_no_second_remedy() -> None:
    many = [
        (case.id, op)
        for case in CASES
        for op, r in remedies_by_operation(case, Config()).items()
        if len(r) > 1 and case.id not in MULTI_REMEDY
    ]
    assert not many


def _case(case_id: str) -> Case:
    return next(c for c in CASES if c.id == case_id)


def _recipes(case_id: str) -> tuple[list[Finding], set[str]]:
    from schemaops.remedy.attach import attach_remedies

    findings, loader = run(_case(case_id), Config())
    attach_remedies(findings, loader)
    return findings, {f.recipe for f in findings if f.recipe}


def test_co_reported_hazards_share_one_composed_recipe() -> None:
    """SO102, SO117 and SO401 on one RunSQL DROP TABLE: one recipe, every step in it,
    the timeout SET first."""
    findings, recipes = _recipes("drop-table-a-view-reads-post")
    assert {"SO102", "SO117", "SO401"} <= {f.code for f in findings}
    (recipe,) = recipes
    assert recipe.index("SET LOCAL lock_timeout") < recipe.index("for SO102")
    assert "for SO117" in recipe


def test_a_single_hazard_keeps_its_rule_recipe() -> None:
    _, recipes = _recipes("sql-reindex")
    (recipe,) = recipes
    assert "for SO" not in recipe and "REINDEX" in recipe.upper()


def test_a_planned_remedy_carries_the_lock_timeout_its_files_need() -> None:
    """SO401 on an operation the planner rewrites: the one remedy is the planner's, whose
    written (non-atomic: session SET, not SET LOCAL) migration sets lock_timeout itself,
    and no statement_timeout (its slow step, CREATE INDEX CONCURRENTLY, blocks nothing)."""
    findings, recipes = _recipes("indexed-varchar-to-text-rebuilds-like-index")
    assert "SO401" in {f.code for f in findings}
    (recipe,) = recipes
    assert "CONCURRENTLY" in recipe and "SET lock_timeout = '5s'" in recipe
    assert "SET LOCAL" not in recipe and "statement_timeout" not in recipe
    assert len({f.remedy for f in findings if f.recipe}) == 1


def test_a_foreign_key_repointed_to_the_swappable_user_model_changes_type_online() -> None:
    """coupon.order (bigint, to shop_order) re-pointed to settings.AUTH_USER_MODEL, whose
    key is an integer: one remedy, the planner's online type change to Django's integer
    (a shadow column, never ALTER COLUMN TYPE), the constraint moved to auth_user NOT VALID
    in the swap and validated after it; the rollback restores bigint and shop_order's key
    (tests/remedy/test_proof_retype.py proves the same plan on PostgreSQL)."""
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import plan_operation

    case = _case("swappable-user-fk-repoint-validated")
    findings, _loader = run(case, Config())
    assert len({f.remedy for f in findings if f.severity >= Severity.ERROR}) == 1
    state = ProjectState()
    user_model().state_forwards("auth", state)
    for op in world():
        op.state_forwards(APP, state)
    remedy = plan_operation(case.operations[0], APP, state)
    assert remedy is not None and remedy.kind == "shadow-column-swap"
    sql = [s for spec in remedy.steps for op in spec.operations for s in _database_sql(op)]
    assert "ALTER TABLE shop_coupon ADD COLUMN order_id_new integer NULL" in sql
    assert not [s for s in sql if " TYPE integer" in s]
    moved = "FOREIGN KEY (order_id) REFERENCES auth_user (id) DEFERRABLE INITIALLY DEFERRED"
    assert any(s.endswith(f"{moved} NOT VALID") for s in sql)
    assert any(
        "VALIDATE CONSTRAINT shop_coupon_order_id_9d61e715_fk_auth_user_id" in s for s in sql
    )
    (swap,) = [spec for spec in remedy.steps if spec.role == "swap"]
    back = swap.operations[0].database_operations[0].reverse_sql
    assert "TYPE bigint" in back[1] and "REFERENCES shop_order (id)" in back[2]


def _database_sql(op: Any) -> list[str]:
    inner = getattr(op, "database_operations", None)
    return [s for o in ([op] if inner is None else inner) for s in (getattr(o, "sql", []) or [])]
