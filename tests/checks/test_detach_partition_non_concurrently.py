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


ATTACH = (
    "ALTER TABLE events ATTACH PARTITION events_old"
    " FOR VALUES FROM ('2023-01-01') TO ('2024-01-01')"
)


def test_attach_of_an_existing_table_is_an_error_with_the_check_first_recipe():
    (f,) = so216(lint([migrations.RunSQL(ATTACH)]))
    assert "scans every row of events_old" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "events_old"')
    assert "NOT VALID" in f.recipe and "VALIDATE CONSTRAINT" in f.recipe


def test_attach_after_a_validated_check_or_of_a_new_table_is_not_flagged():
    check = (
        "ALTER TABLE events_old ADD CONSTRAINT b CHECK (at >= '2023-01-01' AND at < '2024-01-01')"
    )
    assert not so216(lint([migrations.RunSQL(check), migrations.RunSQL(ATTACH)]))
    validate = "ALTER TABLE events_old VALIDATE CONSTRAINT b"
    assert not so216(lint([migrations.RunSQL(validate), migrations.RunSQL(ATTACH)]))
    create = "CREATE TABLE events_old (at date NOT NULL)"
    assert not so216(lint([migrations.RunSQL(create), migrations.RunSQL(ATTACH)]))


def test_the_recipe_s_earlier_migrations_make_the_attach_pass():
    """CHECK NOT VALID, then VALIDATE, in earlier migrations: the ATTACH scans nothing."""
    check = "ALTER TABLE events_old ADD CONSTRAINT b CHECK (at >= '2023-01-01') NOT VALID"
    validate = "ALTER TABLE events_old VALIDATE CONSTRAINT b"
    done = [migrations.RunSQL(check), migrations.RunSQL(validate)]
    assert not so216(lint([migrations.RunSQL(ATTACH)], setup=done))
    not_validated = [migrations.RunSQL(check)]
    assert so216(lint([migrations.RunSQL(ATTACH)], setup=not_validated))
    dropped = [*done, migrations.RunSQL("ALTER TABLE events_old DROP CONSTRAINT b")]
    assert so216(lint([migrations.RunSQL(ATTACH)], setup=dropped))
