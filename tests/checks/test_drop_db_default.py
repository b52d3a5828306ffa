from django.db import migrations, models
from lintkit import codes, lint
from models import order_model

WITH_DB_DEFAULT = ("status", models.CharField(max_length=20, db_default="new"))


def test_removing_db_default_of_not_null_column_is_an_error():
    op = migrations.AlterField("order", "status", models.CharField(max_length=20, default="new"))
    findings = [f for f in lint([op], setup=[order_model(WITH_DB_DEFAULT)]) if f.code == "SO112"]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "error"
    assert "shop_order.status" in f.message and "INSERTs fail" in f.message
    assert 'deploy_phase = "post"' in f.recipe


def test_removing_db_default_of_nullable_column_is_a_warning():
    setup = [order_model(("note", models.CharField(max_length=5, null=True, db_default="-")))]
    op = migrations.AlterField("order", "note", models.CharField(max_length=5, null=True))
    f = next(f for f in lint([op], setup=setup) if f.code == "SO112")
    assert f.severity.label == "warning" and "store NULL" in f.message


def test_keeping_db_default_is_safe():
    op = migrations.AlterField("order", "status", models.CharField(max_length=30, db_default="new"))
    assert "SO112" not in codes(lint([op], setup=[order_model(WITH_DB_DEFAULT)]))


def test_post_deploy_migration_is_allowed():
    op = migrations.AlterField("order", "status", models.CharField(max_length=20, default="new"))
    findings = lint([op], setup=[order_model(WITH_DB_DEFAULT)], deploy_phase="post")
    assert "SO112" not in codes(findings)


def test_runsql_drop_default_fires_only_for_a_db_default_column():
    bad = migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN status DROP DEFAULT", "")
    assert "SO112" in codes(lint([bad], setup=[order_model(WITH_DB_DEFAULT)]))
    other = migrations.RunSQL("ALTER TABLE shop_order ALTER COLUMN amount DROP DEFAULT", "")
    assert "SO112" not in codes(lint([other], setup=[order_model(WITH_DB_DEFAULT)]))
