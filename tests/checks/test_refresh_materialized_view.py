from django.db import migrations
from lintkit import lint
from models import order_model


def so221(findings):
    return [f for f in findings if f.code == "SO221"]


def test_plain_refresh_fires_with_concurrently_recipe():
    refresh = migrations.RunSQL("REFRESH MATERIALIZED VIEW order_stats", migrations.RunSQL.noop)
    (f,) = so221(lint([refresh], setup=[order_model()]))
    assert f.lock.startswith('ACCESS EXCLUSIVE on "order_stats"')
    assert "REFRESH MATERIALIZED VIEW CONCURRENTLY order_stats" in f.recipe


def test_concurrent_no_data_or_new_view_refresh_is_silent():
    for sql in (
        "REFRESH MATERIALIZED VIEW CONCURRENTLY order_stats",
        "REFRESH MATERIALIZED VIEW order_stats WITH NO DATA",
        "CREATE MATERIALIZED VIEW order_stats AS SELECT count(*) FROM shop_order;"
        "REFRESH MATERIALIZED VIEW order_stats",
    ):
        assert not so221(lint([migrations.RunSQL(sql)], setup=[order_model()])), sql
