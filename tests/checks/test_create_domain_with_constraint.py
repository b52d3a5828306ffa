from django.db import migrations
from lintkit import lint
from remedykit import lint_remedy


def so605(findings):
    return [f for f in findings if f.code == "SO605"]


def test_domain_with_check_and_not_null_fires_with_a_plain_domain_recipe():
    sql = "CREATE DOMAIN email AS text NOT NULL DEFAULT '' CHECK (VALUE ~ '@')"
    (f,) = so605(lint_remedy([migrations.RunSQL(sql)]))
    assert f.severity.label == "warning" and f.lock is None
    assert "NOT NULL and CHECK constraint" in f.message
    assert "create email without its NOT NULL and CHECK constraint" in f.recipe
    assert "on each column declared email as a table CHECK" in f.recipe


def test_domain_without_constraints_is_not_flagged():
    assert not so605(lint([migrations.RunSQL("CREATE DOMAIN email AS text DEFAULT ''")]))
    assert not so605(lint([migrations.RunSQL("CREATE TYPE mood AS ENUM ('ok')")]))
