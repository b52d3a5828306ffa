from django.db import migrations
from lintkit import codes, lint
from models import order_model


def test_runsql_without_reverse_fires_with_generated_reverse():
    sql = migrations.RunSQL(
        "ALTER TABLE shop_order ADD COLUMN note text;"
        "CREATE INDEX order_note_idx ON shop_order (note)"
    )
    findings = [f for f in lint([sql], setup=[order_model()]) if f.code == "SO302"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "warning"
    assert "IrreversibleError" in f.message
    assert (
        "reverse_sql='DROP INDEX IF EXISTS order_note_idx; "
        "ALTER TABLE shop_order DROP COLUMN IF EXISTS note'" in f.recipe
    )


def test_unknown_inverse_suggests_noop_or_your_own_sql():
    sql = migrations.RunSQL("UPDATE shop_order SET code = upper(code) WHERE id = 1")
    f = next(f for f in lint([sql], setup=[order_model()]) if f.code == "SO302")
    assert "reverse_sql=<SQL that undoes it>" in f.recipe and "RunSQL.noop" in f.recipe


def test_runsql_with_reverse_or_noop_reverse_is_safe():
    with_reverse = migrations.RunSQL("CREATE TABLE t (a int)", reverse_sql="DROP TABLE t")
    noop = migrations.RunSQL(
        "UPDATE shop_order SET code = 'x' WHERE id = 1", reverse_sql=migrations.RunSQL.noop
    )
    assert "SO302" not in codes(lint([with_reverse, noop], setup=[order_model()]))
