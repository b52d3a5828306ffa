from django.db import migrations
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy, remedy_sql


def test_varchar_with_length_fires_with_text_and_check_recipe():
    op = migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN nickname varchar(40)")
    findings = [f for f in lint_remedy([op], setup=[order_model()]) if f.code == "SO604"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "info"
    assert "shop_order.nickname varchar(40)" in f.message
    assert remedy_sql(f.recipe) == [
        "ALTER TABLE shop_order ADD COLUMN nickname text",
        "ALTER TABLE shop_order ADD CONSTRAINT shop_order_nickname_len "
        "CHECK (char_length(nickname) <= 40) NOT VALID",
        "ALTER TABLE shop_order VALIDATE CONSTRAINT shop_order_nickname_len",
    ]


def test_text_and_unbounded_varchar_are_safe():
    ops = [
        migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN a text"),
        migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN b varchar"),
    ]
    assert "SO604" not in codes(lint(ops, setup=[order_model()]))
