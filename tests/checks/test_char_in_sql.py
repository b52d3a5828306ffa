from django.db import migrations
from lintkit import codes, lint
from models import order_model


def so606(findings):
    return [f for f in findings if f.code == "SO606"]


def test_char_columns_fire_with_text_and_length_check_recipe():
    op = migrations.RunSQL(
        "ALTER TABLE shop_order ADD COLUMN country char(2), ADD COLUMN flag character",
        "ALTER TABLE shop_order DROP COLUMN country, DROP COLUMN flag",
    )
    (f,) = so606(lint([op], setup=[order_model()]))
    assert f.severity.label == "warning"
    assert "shop_order.country char(2), shop_order.flag char(1)" in f.message
    assert "ADD COLUMN country text, ADD COLUMN flag text" in f.recipe
    assert "CHECK (char_length(country) <= 2) NOT VALID" in f.recipe
    assert "CHECK (char_length(flag) <= 1) NOT VALID" in f.recipe


def test_new_table_gets_a_plain_check_and_alter_type_is_flagged():
    op = migrations.RunSQL("CREATE TABLE iso (code character(3) PRIMARY KEY)")
    (f,) = so606(lint([op]))
    assert "iso.code char(3)" in f.message
    assert "CHECK (char_length(code) <= 3)'" in f.recipe and "NOT VALID" not in f.recipe
    alter = migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code TYPE char(20)")
    assert so606(lint([alter], setup=[order_model()]))


def test_text_varchar_and_internal_char_type_are_not_flagged():
    op = migrations.RunSQL(
        'CREATE TABLE t (a text, b varchar(3), c "char"); ALTER TABLE t ADD COLUMN d text'
    )
    assert "SO606" not in codes(lint([op]))
