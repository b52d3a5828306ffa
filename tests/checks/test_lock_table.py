from django.db import migrations
from lintkit import codes, lint
from models import order_model


def test_lock_table_is_a_warning_naming_the_mode():
    findings = [
        f
        for f in lint([migrations.RunSQL("LOCK TABLE shop_order IN SHARE MODE")], [order_model()])
        if f.code == "SO218"
    ]
    assert len(findings) == 1
    f = findings[0]
    assert f.severity.label == "warning"
    assert "IN SHARE MODE" in f.message
    assert f.lock.startswith('SHARE on "shop_order"')
    default = [
        f
        for f in lint([migrations.RunSQL("LOCK shop_order")], [order_model()])
        if f.code == "SO218"
    ]
    assert default[0].lock.startswith('ACCESS EXCLUSIVE on "shop_order"')


def test_lock_on_table_created_in_same_migration_is_fine():
    sql = "CREATE TABLE t (a int); LOCK TABLE t"
    assert "SO218" not in codes(lint([migrations.RunSQL(sql)]))
