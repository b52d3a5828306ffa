from django.db import migrations
from lintkit import codes, lint
from models import order_model

NOOP = migrations.RunSQL.noop


def test_unparsable_runsql_is_a_finding_not_a_crash():
    op = migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN", reverse_sql=NOOP)
    findings = [f for f in lint([op], setup=[order_model()]) if f.code == "SO901"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "error"
    assert f.operation == 0
    assert f.message.startswith("cannot parse SQL: syntax error at end of input")


def test_each_unparsable_item_of_a_list_is_reported_and_the_rest_still_checked():
    op = migrations.RunSQL(
        ["SELEC 1", "ALTER TABLE shop_order DROP COLUMN legacy"], reverse_sql=NOOP
    )
    found = codes(lint([op], setup=[order_model()]))
    assert found.count("SO901") == 1
    assert "SO101" in found  # the parsable statement was still checked


def test_valid_sql_is_safe():
    op = migrations.RunSQL(
        "ALTER TABLE shop_order ADD COLUMN note text", reverse_sql="SELECT 1; SELECT 2"
    )
    assert "SO901" not in codes(lint([op], setup=[order_model()]))


def test_sql_with_parameters_is_read_with_the_parameters_quoted_in():
    op = migrations.RunSQL(
        [
            ("UPDATE shop_order SET status = %s WHERE id = %s", ["done", 1]),
            ("UPDATE shop_order SET status = %(s)s WHERE note LIKE 'a%%'", {"s": "x"}),
            ["ALTER TABLE shop_order DROP COLUMN legacy", None],
        ],
        reverse_sql=NOOP,
    )
    found = codes(lint([op], setup=[order_model()]))
    assert "SO901" not in found
    assert "SO101" in found  # the pair without parameters was still read as SQL


def test_a_percent_sign_without_parameters_stays_literal():
    op = migrations.RunSQL("UPDATE shop_order SET note = note || '%s'", reverse_sql=NOOP)
    assert "SO901" not in codes(lint([op], setup=[order_model()]))
