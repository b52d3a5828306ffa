from django.db import migrations
from lintkit import lint
from models import order_model
from remedykit import lint_remedy, remedy_sql


def so608(findings):
    return [f for f in findings if f.code == "SO608"]


def test_add_value_without_position_fires_as_info_with_placed_recipe():
    op = migrations.RunSQL("ALTER TYPE order_status ADD VALUE 'refunded'")
    (f,) = so608(lint_remedy([op], setup=[order_model()]))
    assert f.severity.label == "info"
    assert "ADD VALUE 'refunded' has no BEFORE or AFTER" in f.message
    # the labels are unknown (the type is not made by a RunSQL here): say where to put it
    assert remedy_sql(f.recipe) == ["ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded'"]
    assert "name the label 'refunded' goes after (or before)" in f.recipe


def test_known_labels_place_the_value_where_it_goes_anyway():
    enum = migrations.RunSQL("CREATE TYPE order_status AS ENUM ('sent', 'paid')")
    op = migrations.RunSQL("ALTER TYPE order_status ADD VALUE 'refunded'")
    (f,) = so608(lint_remedy([op], setup=[order_model(), enum]))
    assert remedy_sql(f.recipe) == [
        "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'refunded' AFTER 'paid'"
    ]


def test_positioned_values_renames_and_new_enums_are_not_flagged():
    for sql in (
        "ALTER TYPE order_status ADD VALUE 'refunded' AFTER 'paid'",
        "ALTER TYPE order_status ADD VALUE IF NOT EXISTS 'draft' BEFORE 'sent'",
        "ALTER TYPE order_status RENAME VALUE 'sent' TO 'shipped'",
        "CREATE TYPE order_status AS ENUM ('sent'); ALTER TYPE order_status ADD VALUE 'paid'",
    ):
        assert not so608(lint([migrations.RunSQL(sql)], setup=[order_model()])), sql
