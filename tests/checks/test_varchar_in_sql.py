from django.db import migrations
from lintkit import codes, lint
from models import order_model


def test_varchar_with_length_fires_with_text_and_check_recipe():
    op = migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN nickname varchar(40)")
    findings = [f for f in lint([op], setup=[order_model()]) if f.code == "SO604"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "info"
    assert "shop_order.nickname varchar(40)" in f.message
    assert "ADD COLUMN nickname text" in f.recipe
    assert "CHECK (char_length(nickname) <= 40) NOT VALID" in f.recipe
    assert "VALIDATE CONSTRAINT nickname_len" in f.recipe


def test_text_and_unbounded_varchar_are_safe():
    ops = [
        migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN a text"),
        migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN b varchar"),
    ]
    assert "SO604" not in codes(lint(ops, setup=[order_model()]))
