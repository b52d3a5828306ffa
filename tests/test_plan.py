"""The forward walk's SQL: what it renders, and that reusing renderings keeps the SQL right."""

from __future__ import annotations

import gc
import weakref

import pytest
from django.db import migrations, models
from lintkit import FakeLoader, make_migration

from schemaops._gc import gc_paused, sweep_young
from schemaops.plan import Walker

ORDER = migrations.CreateModel(
    "Order",
    [
        ("id", models.BigAutoField(primary_key=True)),
        ("code", models.CharField(max_length=20)),
    ],
)


def _walk(operations: list, setup: list | None = None) -> tuple[Walker, list]:
    first = make_migration("0001_initial", setup or [ORDER])
    second = make_migration("0002_change", operations, dependencies=[("shop", "0001_initial")])
    walker = Walker(FakeLoader([first, second]), want_sql=lambda step: True)
    steps = [s for s in walker.walk() if s.name == "0002_change"]
    return walker, steps[0].operations


def test_runsql_renders_no_model():
    walker = Walker(
        FakeLoader(
            [
                make_migration("0001_initial", [ORDER]),
                make_migration(
                    "0002_sql",
                    [migrations.RunSQL("SELECT 1", migrations.RunSQL.noop)],
                    dependencies=[("shop", "0001_initial")],
                ),
            ]
        ),
        want_sql=lambda step: step.migration_name == "0002_sql",
    )
    (step,) = [s for s in walker.walk() if s.name == "0002_sql"]
    assert step.operations[0].sql == ["SELECT 1;"]
    assert walker._rendered == 0  # the project's models were not rendered for it


def test_consecutive_operations_on_one_model_see_each_others_changes():
    _, ops = _walk(
        [
            migrations.AddField("order", "note", models.TextField(null=True)),
            migrations.AlterField("order", "note", models.TextField(default="")),
            migrations.RenameField("order", "note", "remark"),
            migrations.AddIndex("order", models.Index(fields=["remark"], name="order_remark_idx")),
            migrations.RemoveField("order", "remark"),
        ]
    )
    sql = [" ".join(op.sql) for op in ops]
    assert all(op.sql_error is None for op in ops)
    assert 'ADD COLUMN "note" text NULL' in sql[0]
    assert 'ALTER COLUMN "note" SET NOT NULL' in sql[1]
    assert 'RENAME COLUMN "note" TO "remark"' in sql[2]
    assert 'CREATE INDEX "order_remark_idx" ON "shop_order" ("remark")' in sql[3]
    assert 'DROP COLUMN "remark"' in sql[4]


def test_sweeper_frees_cycles_while_the_collector_is_paused():
    class Node:
        pass

    with gc_paused():
        keep = Node()
        garbage = Node()
        garbage.self = garbage  # a cycle only the collector frees
        probe = weakref.ref(garbage)
        del garbage
        sweep_young()
        assert probe() is None
        assert gc.get_count()[0] < 100  # the young generation was emptied
        assert not gc.isenabled()  # the collector stays paused
        assert keep is not None


def test_defaults_of_every_common_type_are_quoted_by_the_projects_driver():
    """JSON, UUID, dict, list, decimal and date defaults: Django prepares each value for
    the driver it runs on (psycopg 3's Jsonb, psycopg 2's Json); the SQL must still come."""
    import datetime
    import decimal
    import uuid

    from django.contrib.postgres.fields import ArrayField

    fields = {
        "meta": models.JSONField(default=dict),
        "tags": models.JSONField(default=list),
        "options": models.JSONField(default={"colour": "red", "sizes": [1, 2]}),
        "token": models.UUIDField(default=uuid.uuid4),
        "fixed": models.UUIDField(default=uuid.UUID("12345678-1234-5678-1234-567812345678")),
        "price": models.DecimalField(
            max_digits=8, decimal_places=2, default=decimal.Decimal("1.5")
        ),
        "since": models.DateField(default=datetime.date(2024, 1, 31)),
        "labels": ArrayField(models.CharField(max_length=10), default=list),
        "flag": models.BooleanField(default=True),
    }
    ops = [migrations.AddField("order", name, field) for name, field in fields.items()]
    _, steps = _walk(ops)
    for name, step in zip(fields, steps, strict=True):
        assert step.sql_error is None, (name, step.sql_error)
        assert any("ADD COLUMN" in s and f'"{name}"' in s for s in step.sql), (name, step.sql)
    sql = {name: " ".join(step.sql) for name, step in zip(fields, steps, strict=True)}
    assert '\'{"colour": "red", "sizes": [1, 2]}\'' in sql["options"]
    assert "12345678" in sql["fixed"]
    assert "'2024-01-31'" in sql["since"]


def _copy_cases() -> list[list[tuple[str, models.Field]]]:
    """Models of fields (each field class, with the arguments ``__init__`` or
    ``deconstruct()`` reshape), the order of their making not their order."""
    import datetime
    import decimal
    import uuid

    from django.core.serializers.json import DjangoJSONEncoder
    from django.core.validators import MinValueValidator
    from django.db.models.functions import Now

    first_made = models.IntegerField(null=True)  # last in the model: the order is the state's
    return [
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("code", models.CharField(max_length=20, db_index=True, verbose_name="the code")),
            ("slug", models.SlugField(unique=True, help_text="h", db_comment="c")),
            ("n", models.PositiveIntegerField(default=0, choices=[(0, "zero"), (1, "one")])),
            ("big", models.BigIntegerField(null=True, db_column="BIG")),
            ("small", models.SmallIntegerField(db_default=1)),
            ("flag", models.BooleanField(default=False)),
            ("body", models.TextField(blank=True, db_collation="C")),
            ("mail", models.EmailField()),
            ("url", models.URLField(max_length=300)),
            ("day", models.DateField(auto_now_add=True)),
            ("at", models.DateTimeField(db_default=Now())),
            ("tm", models.TimeField(default=datetime.time(1, 2))),
            ("span", models.DurationField(null=True)),
            (
                "price",
                models.DecimalField(max_digits=8, decimal_places=2, default=decimal.Decimal(1)),
            ),
            ("ratio", models.FloatField(validators=[lambda v: None])),
            ("uid", models.UUIDField(editable=False)),
            ("blob", models.BinaryField(max_length=10)),
            ("ip", models.GenericIPAddressField(protocol="ipv4")),
            ("data", models.JSONField(default=dict, error_messages={"invalid": "no"})),
            ("late", first_made),
            ("order", models.ForeignKey("shop.Order", models.CASCADE, null=True)),
        ],
        [
            ("code", models.CharField(max_length=10, primary_key=True)),
            ("number", models.BigAutoField(unique=True, serialize=False)),
            ("flag", models.BooleanField(null=True, blank=True)),
            ("slug", models.SlugField(db_index=False, allow_unicode=True)),
            ("on", models.DateTimeField(auto_now=True)),
            ("tm", models.TimeField(auto_now_add=True, null=True)),
            ("mail", models.EmailField(max_length=100, unique=True)),
            ("ip", models.GenericIPAddressField(unpack_ipv4=True, null=True)),
            ("uid", models.UUIDField(default=uuid.uuid4, unique=True)),
            ("blob", models.BinaryField(editable=True)),
            ("data", models.JSONField(encoder=DjangoJSONEncoder, null=True)),
            ("body", models.TextField(max_length=10, db_index=True)),
            ("n", models.IntegerField(validators=[MinValueValidator(0)], db_column="N")),
            ("pb", models.PositiveBigIntegerField(default=1)),
            ("ps", models.PositiveSmallIntegerField(db_default=2, blank=True)),
            ("ratio", models.FloatField(db_default=1.5)),
            ("span", models.DurationField(default=datetime.timedelta(1))),
            ("price", models.DecimalField(max_digits=5, decimal_places=0, null=True)),
            ("day", models.DateField(unique_for_date="on", default=datetime.date.today)),
            ("url", models.URLField(max_length=100, blank=True)),
        ],
        [
            ("id", models.SmallAutoField(primary_key=True, db_column="ID")),
            ("short", models.CharField(max_length=3, choices=[("a", "A")], default="a")),
        ],
        [("id", models.AutoField(primary_key=True, verbose_name="ident"))],
    ]


@pytest.mark.parametrize("case", range(4))
def test_copied_fields_are_the_fields_django_clones(case):
    """Rendering copies Django's plain fields instead of cloning them (deconstruct and
    ``__init__`` again): bound to the model, every attribute is the clone's, in order."""
    from django.apps.registry import Apps
    from django.db.migrations.state import ModelState

    from schemaops.plan import _CopyingModelState

    fields = _copy_cases()[case]
    state = ModelState("shop", "Thing", fields, {"indexes": [], "constraints": []})
    setup = ModelState("shop", "Order", [("id", models.BigAutoField(primary_key=True))])

    def bound(model_state):
        apps = Apps()
        setup.render(apps)
        return model_state.render(apps)._meta.local_fields

    theirs, mine = bound(state.clone()), bound(_CopyingModelState.of(state))
    assert [f.name for f in mine] == [f.name for f in theirs] == [n for n, _ in fields]
    for a, b in zip(mine, theirs, strict=True):
        if a.remote_field is not None:
            continue  # cloned
        assert a.model is not b.model and a.creation_counter != b.creation_counter
        ours, django = dict(vars(a)), dict(vars(b))
        for key in ("model", "creation_counter"):
            del ours[key], django[key]
        assert ours == django, a.name
    assert all(vars(f).get("model") is None for _, f in fields)  # the state's stay unbound


def test_every_copied_field_class_is_compared():
    from schemaops.plan import _copyable_fields

    compared = {type(f) for fields in _copy_cases() for _, f in fields}
    assert _copyable_fields() <= compared


SLUGGED = migrations.CreateModel(
    "Order",
    [
        ("id", models.BigAutoField(primary_key=True)),
        ("code", models.CharField(max_length=20)),
        ("slug", models.IntegerField(db_index=True)),
    ],
    options={"index_together": {("code", "slug")}},
)


def test_offline_index_names_are_the_names_django_created(scratch_db):
    """Offline there is no catalog: the walk names the index a drop or rename meets the
    way Django named it when it created it. A field's db_index index has no suffix,
    index_together's has "_idx" (they were swapped: DROP INDEX IF EXISTS of a name that
    does not exist, so the remedy's DROP INDEX CONCURRENTLY left the index in place)."""
    import psycopg2

    from schemaops.statements import parse

    first = make_migration("0001_initial", [SLUGGED])
    changes = [
        migrations.AlterField("order", "slug", models.IntegerField()),
        migrations.RenameIndex("order", new_name="order_code_slug", old_fields=("code", "slug")),
    ]
    _walker, ops = _walk(changes, [SLUGGED])
    setup = [
        s
        for step in Walker(FakeLoader([first]), want_sql=lambda s: True).walk()
        for op in step.operations
        for s in op.sql
    ]
    conn = psycopg2.connect(**scratch_db)
    conn.autocommit = True
    with conn.cursor() as cur:
        for sql in setup:
            cur.execute(sql)
        for op in ops:
            for text in op.sql:
                for statement in parse(text):
                    cur.execute(statement.sql)  # a wrong name fails the rename
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'shop_order' ORDER BY 1")
        assert [r[0] for r in cur.fetchall()] == ["order_code_slug", "shop_order_pkey"]
    conn.close()
