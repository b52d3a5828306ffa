from django.db import migrations
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy, remedy_sql


def so606(findings):
    return [f for f in findings if f.code == "SO606"]


def test_char_columns_fire_with_text_and_length_check_recipe():
    op = migrations.RunSQL(
        "ALTER TABLE shop_order ADD COLUMN country char(2), ADD COLUMN flag character",
        "ALTER TABLE shop_order DROP COLUMN country, DROP COLUMN flag",
    )
    (f,) = so606(lint_remedy([op], setup=[order_model()]))
    assert f.severity.label == "warning"
    assert "shop_order.country char(2), shop_order.flag char(1)" in f.message
    sql = remedy_sql(f.recipe)
    assert sql[:2] == [
        "ALTER TABLE shop_order ADD COLUMN country text",
        "ALTER TABLE shop_order ADD COLUMN flag text",
    ]
    assert "CHECK (char_length(country) <= 2) NOT VALID" in sql[2]
    assert "CHECK (char_length(flag) <= 1) NOT VALID" in sql[3]


def test_new_table_gets_a_plain_check_and_alter_type_is_flagged():
    op = migrations.RunSQL("CREATE TABLE iso (code character(3) PRIMARY KEY)")
    (f,) = so606(lint_remedy([op]))
    assert "iso.code char(3)" in f.message
    assert remedy_sql(f.recipe) == [
        "CREATE TABLE iso (code text PRIMARY KEY, "
        "CONSTRAINT iso_code_len CHECK (char_length(code) <= 3))"
    ]
    alter = migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN code TYPE char(20)")
    assert so606(lint([alter], setup=[order_model()]))


def test_text_varchar_and_internal_char_type_are_not_flagged():
    op = migrations.RunSQL(
        'CREATE TABLE t (a text, b varchar(3), c "char"); ALTER TABLE t ADD COLUMN d text'
    )
    assert "SO606" not in codes(lint([op]))
