from django.db import migrations
from lintkit import codes, lint
from remedykit import lint_remedy, remedy_sql

DETACH = "ALTER TABLE events DETACH PARTITION events_2023"


def so216(findings):
    return [f for f in findings if f.code == "SO216"]


def test_detach_partition_fires_on_pg14_with_concurrent_recipe():
    f = so216(lint_remedy([migrations.RunSQL(DETACH)], pg_version=15))[0]
    assert "events_2023" in f.message and "events" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "events"') and '"events_2023"' in f.lock
    assert remedy_sql(f.recipe) == [f"{DETACH} CONCURRENTLY"] and "atomic = False" in f.recipe


def test_concurrent_detach_and_old_servers_are_not_flagged():
    good = lint([migrations.RunSQL(DETACH + " CONCURRENTLY")], atomic=False)
    assert "SO216" not in codes(good)
    assert "SO216" not in codes(lint([migrations.RunSQL(DETACH)], pg_version=13))
