"""The fixture project of the labelled cases: app ``shop`` with the shapes real projects use.

Each function returns the operations of migration 0001 (the prior state a case
starts from). Raw SQL objects (views, partitioned tables) are created with
RunSQL, as projects do.
"""

from django.contrib.postgres.fields import ArrayField, HStoreField
from django.db import migrations, models
from models import coupon_model, customer_model, order_model


def user_model():
    """The user model of ``settings.AUTH_USER_MODEL`` (``auth.User``), reduced to its table."""
    return migrations.CreateModel(
        name="User",
        fields=[
            ("id", models.AutoField(primary_key=True)),
            ("username", models.CharField(max_length=150, unique=True)),
        ],
        options={"swappable": "AUTH_USER_MODEL"},
    )


def place_child(name, *fields):
    """A multi-table child of Place: the parent link, then ``fields`` (name, field pairs)."""
    parent_link = models.OneToOneField(
        "shop.Place",
        on_delete=models.CASCADE,
        parent_link=True,
        primary_key=True,
        serialize=False,
    )
    return migrations.CreateModel(
        name=name, fields=[("place_ptr", parent_link), *fields], bases=("shop.place",)
    )


def place_models():
    """Multi-table inheritance (Restaurant -> Place) and a proxy of Place."""
    return [
        migrations.CreateModel(
            name="Place",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("name", models.CharField(max_length=50)),
            ],
        ),
        place_child("Restaurant", ("seats", models.IntegerField(null=True))),
        migrations.CreateModel(
            name="BigPlace", fields=[], options={"proxy": True}, bases=("shop.place",)
        ),
    ]


def event_model():
    """PostgreSQL types: array, JSON, hstore; an indexed varchar; a GFK pair."""
    return migrations.CreateModel(
        name="Event",
        fields=[
            ("id", models.BigAutoField(primary_key=True)),
            ("tags", ArrayField(models.CharField(max_length=20), null=True)),
            ("payload", models.JSONField(null=True)),
            ("attrs", HStoreField(null=True)),
            ("slug", models.CharField(max_length=30, db_index=True)),
            ("object_id", models.IntegerField(null=True)),
            ("kind", models.CharField(max_length=10, null=True)),
        ],
    )


def note_model():
    return migrations.CreateModel(
        name="Note",
        fields=[
            ("id", models.BigAutoField(primary_key=True)),
            ("body", models.TextField(null=True)),
        ],
    )


def legacy_model():
    return migrations.CreateModel(
        name="Legacy",
        fields=[("id", models.IntegerField(primary_key=True)), ("x", models.TextField())],
        options={"managed": False, "db_table": "legacy_x"},
    )


VIEW = migrations.RunSQL(
    "CREATE VIEW shop_order_v AS SELECT id, legacy FROM shop_order",
    "DROP VIEW shop_order_v",
)
MATVIEW = migrations.RunSQL(
    "CREATE MATERIALIZED VIEW shop_event_mv AS SELECT id, kind FROM shop_event",
    "DROP MATERIALIZED VIEW shop_event_mv",
)
PARTITIONED = migrations.RunSQL(
    "CREATE TABLE shop_measure (id bigint NOT NULL, ts timestamptz NOT NULL, v integer)"
    " PARTITION BY RANGE (ts);"
    " CREATE TABLE shop_measure_2024 PARTITION OF shop_measure"
    " FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "DROP TABLE shop_measure",
)


def world():
    """Every model and raw object of the fixture project, in dependency order."""
    return [
        order_model(),
        customer_model(),
        coupon_model(),
        *place_models(),
        event_model(),
        note_model(),
        legacy_model(),
        VIEW,
        MATVIEW,
        PARTITIONED,
        migrations.AddIndex("order", models.Index(fields=["amount"], name="order_amount_idx")),
    ]
