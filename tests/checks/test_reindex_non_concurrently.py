from django.db import migrations, models
from lintkit import codes, lint
from models import order_model
from remedykit import lint_remedy, remedy_sql

INDEX = models.Index(fields=["code"], name="order_code_idx")


def so214(findings):
    return [f for f in findings if f.code == "SO214"]


def setup():
    return [order_model(), migrations.AddIndex("order", INDEX)]


def test_reindex_index_fires_with_concurrent_recipe():
    f = so214(lint_remedy([migrations.RunSQL("REINDEX INDEX order_code_idx")], setup()))[0]
    assert "order_code_idx" in f.message
    assert 'ACCESS EXCLUSIVE on "order_code_idx"' in f.lock and 'SHARE on "shop_order"' in f.lock
    assert remedy_sql(f.recipe) == ["REINDEX (CONCURRENTLY) INDEX order_code_idx"]
    assert "atomic = False" in f.recipe


def test_reindex_concurrently_is_safe():
    sql = "REINDEX TABLE CONCURRENTLY shop_order"
    assert "SO214" not in codes(lint([migrations.RunSQL(sql)], setup(), atomic=False))


def test_before_pg12_there_is_no_concurrent_form():
    sql = migrations.RunSQL("REINDEX TABLE shop_order")
    assert len(so214(lint([sql], setup(), pg_version=15))) == 1
    assert "SO214" not in codes(lint([sql], setup(), pg_version=11))
