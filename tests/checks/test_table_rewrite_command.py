from django.db import migrations
from lintkit import codes, lint
from models import order_model


def so215(findings):
    return [f for f in findings if f.code == "SO215"]


def test_vacuum_full_cluster_and_set_tablespace_fire():
    for sql, command in [
        ("VACUUM FULL shop_order", "VACUUM FULL"),
        ("CLUSTER shop_order USING shop_order_pkey", "CLUSTER"),
        ("ALTER TABLE shop_order SET TABLESPACE pg_default", "SET TABLESPACE"),
        ("ALTER INDEX shop_order_pkey SET TABLESPACE pg_default", "SET TABLESPACE"),
        ("ALTER TABLE shop_order SET UNLOGGED", "SET UNLOGGED"),
    ]:
        findings = so215(lint([migrations.RunSQL(sql)], setup=[order_model()], atomic=False))
        assert len(findings) == 1, sql
        assert command in findings[0].message
        assert findings[0].lock.startswith("ACCESS EXCLUSIVE")


def test_plain_vacuum_and_new_tables_are_safe():
    assert "SO215" not in codes(
        lint([migrations.RunSQL("VACUUM ANALYZE shop_order")], [order_model()], atomic=False)
    )
    assert "SO215" not in codes(
        lint([migrations.RunSQL("CREATE TABLE t (a int); CLUSTER t USING t_pkey")])
    )
