from django.db import migrations
from lintkit import lint


def so307(findings):
    return [f for f in findings if f.code == "SO307"]


def test_drop_database_fires_in_atomic_migration_and_says_it_fails():
    (f,) = so307(lint([migrations.RunSQL("DROP DATABASE IF EXISTS legacy_reports")]))
    assert f.severity.label == "error"
    assert "DROP DATABASE legacy_reports" in f.message and "refuses" in f.message
    assert "dropdb --if-exists legacy_reports" in f.recipe


def test_drop_database_fires_in_non_atomic_and_post_deploy_migrations():
    op = migrations.RunSQL("DROP DATABASE legacy_reports")
    (f,) = so307(lint([op], atomic=False, deploy_phase="post"))
    assert "refuses" not in f.message


def test_other_drops_are_not_flagged():
    assert not so307(lint([migrations.RunSQL("DROP SCHEMA IF EXISTS reporting")]))


def test_recipe_quotes_the_database_name_for_the_shell():
    (f,) = so307(lint([migrations.RunSQL('DROP DATABASE "legacy reports"')], atomic=False))
    assert "pg_dump -Fc 'legacy reports'" in f.recipe
    assert "dropdb --if-exists 'legacy reports'" in f.recipe
