from django.db import migrations
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy, remedy_migrations


def test_runsql_without_reverse_fires_with_generated_reverse():
    sql = migrations.RunSQL(
        "ALTER TABLE shop_order ADD COLUMN note text;"
        "CREATE INDEX order_note_idx ON shop_order (note)"
    )
    findings = [f for f in lint_remedy([sql], setup=[order_model()]) if f.code == "SO302"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "warning"
    assert "IrreversibleError" in f.message
    # the column in an atomic migration, the index CONCURRENTLY: each undoes its own part
    (_, column), (_, index) = remedy_migrations(f.recipe)
    assert column.operations[0].reverse_sql == ["ALTER TABLE shop_order DROP COLUMN IF EXISTS note"]
    assert index.operations[0].reverse_sql == ["DROP INDEX CONCURRENTLY IF EXISTS order_note_idx"]


def test_a_safe_runsql_gets_its_reverse_written():
    sql = migrations.RunSQL("CREATE TABLE shop_note (id bigint)")
    (f,) = [f for f in lint_remedy([sql], setup=[order_model()]) if f.code == "SO302"]
    ((_, migration),) = remedy_migrations(f.recipe)
    assert migration.operations[0].reverse_sql == ["DROP TABLE IF EXISTS shop_note"]


def test_unknown_inverse_suggests_noop_or_your_own_sql():
    sql = migrations.RunSQL("UPDATE shop_order SET code = upper(code) WHERE id = 1")
    f = next(f for f in lint_remedy([sql], setup=[order_model()]) if f.code == "SO302")
    assert "write reverse_sql" in f.message and "RunSQL.noop" in f.message
    assert f.recipe is None  # no inverse known: the planner writes nothing it cannot know


def test_runsql_with_reverse_or_noop_reverse_is_safe():
    with_reverse = migrations.RunSQL("CREATE TABLE t (a int)", reverse_sql="DROP TABLE t")
    noop = migrations.RunSQL(
        "UPDATE shop_order SET code = 'x' WHERE id = 1", reverse_sql=migrations.RunSQL.noop
    )
    assert "SO302" not in codes(lint([with_reverse, noop], setup=[order_model()]))
