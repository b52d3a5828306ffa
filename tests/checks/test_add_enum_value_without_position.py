from django.db import migrations
from lintkit import lint
from models import order_model


def so608(findings):
    return [f for f in findings if f.code == "SO608"]


def test_add_value_without_position_fires_as_info_with_placed_recipe():
    op = migrations.RunSQL("ALTER TYPE order_status ADD VALUE 'refunded'")
    (f,) = so608(lint([op], setup=[order_model()]))
    assert f.severity.label == "info"
    assert "ADD VALUE 'refunded' has no BEFORE or AFTER" in f.message
    assert (
        "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded' AFTER '<the label it follows>'"
        in f.recipe
    )


def test_positioned_values_renames_and_new_enums_are_not_flagged():
    for sql in (
        "ALTER TYPE order_status ADD VALUE 'refunded' AFTER 'paid'",
        "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'draft' BEFORE 'sent'",
        "ALTER TYPE order_status RENAME VALUE 'sent' TO 'shipped'",
        "CREATE TYPE order_status AS ENUM ('sent'); ALTER TYPE order_status ADD VALUE 'paid'",
    ):
        assert not so608(lint([migrations.RunSQL(sql)], setup=[order_model()])), sql
