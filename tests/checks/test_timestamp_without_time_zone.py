from django.db import migrations
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy, remedy_sql


def test_timestamp_column_fires_with_timestamptz_recipe():
    op = migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN shipped_at timestamp")
    findings = [f for f in lint_remedy([op], setup=[order_model()]) if f.code == "SO602"]
    assert len(findings) == 1
    assert "shop_order.shipped_at" in findings[0].message
    assert remedy_sql(findings[0].recipe) == [
        "ALTER TABLE shop_order ADD COLUMN shipped_at timestamptz"
    ]


def test_explicit_without_time_zone_in_create_table_fires():
    op = migrations.RunSQL(
        "CREATE TABLE shop_event (id bigint, at timestamp(3) without time zone, note text)"
    )
    findings = [f for f in lint_remedy([op]) if f.code == "SO602"]
    assert len(findings) == 1
    assert "shop_event.at" in findings[0].message
    assert remedy_sql(findings[0].recipe) == [
        "CREATE TABLE shop_event (id bigint, at timestamptz, note text)"
    ]


def test_timestamptz_is_safe():
    ops = [
        migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN a timestamptz"),
        migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN b timestamp with time zone"),
    ]
    assert "SO602" not in codes(lint(ops, setup=[order_model()]))
