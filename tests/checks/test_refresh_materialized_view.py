from django.db import migrations
from lintkit import lint
from models import order_model
from remedykit import lint_remedy, remedy_sql

VIEW = migrations.RunSQL(
    "CREATE MATERIALIZED VIEW order_stats AS SELECT id, amount FROM shop_order;"
    "CREATE UNIQUE INDEX order_stats_id ON order_stats (id)"
)


def so221(findings):
    return [f for f in findings if f.code == "SO221"]


def test_plain_refresh_fires_with_concurrently_recipe():
    refresh = migrations.RunSQL("REFRESH MATERIALIZED VIEW order_stats", migrations.RunSQL.noop)
    (f,) = so221(lint_remedy([refresh], setup=[order_model(), VIEW]))
    assert f.lock.startswith('ACCESS EXCLUSIVE on "order_stats"')
    assert remedy_sql(f.recipe) == ["REFRESH MATERIALIZED VIEW CONCURRENTLY order_stats"]


def test_without_a_unique_index_the_remedy_says_to_create_one():
    refresh = migrations.RunSQL("REFRESH MATERIALIZED VIEW order_stats", migrations.RunSQL.noop)
    (f,) = so221(lint_remedy([refresh], setup=[order_model()]))
    assert "with a unique index on the view" in f.recipe
    assert "CREATE UNIQUE INDEX CONCURRENTLY ... ON order_stats" in f.recipe
    assert remedy_sql(f.recipe) == []  # nothing to write: CONCURRENTLY would fail


def test_concurrent_no_data_or_new_view_refresh_is_silent():
    for sql in (
        "REFRESH MATERIALIZED VIEW CONCURRENTLY order_stats",
        "REFRESH MATERIALIZED VIEW order_stats WITH NO DATA",
        "CREATE MATERIALIZED VIEW order_stats AS SELECT count(*) FROM shop_order;"
        "REFRESH MATERIALIZED VIEW order_stats",
    ):
        assert not so221(lint([migrations.RunSQL(sql)], setup=[order_model()])), sql
