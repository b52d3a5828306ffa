"""AU301-AU309: the demo shop's models against a copy of its database, clean then drifted."""

from __future__ import annotations

import pytest

from schemaops.audit._django import Models
from schemaops.findings import Severity

DRIFT = ["AU301", "AU302", "AU303", "AU304", "AU305", "AU306", "AU307", "AU308", "AU309"]


@pytest.fixture
def models():
    return Models.load("default")


def test_freshly_migrated_shop_has_no_drift(shop_copy, models):
    findings = shop_copy.audit(*DRIFT, models=models)
    assert [(f.code, f.obj) for f in findings] == []


def test_drift_checks_are_skipped_without_models(shop_copy):
    result = shop_copy.result(*DRIFT)
    assert set(result.skipped) == set(DRIFT)
    assert result.findings == []


def test_every_kind_of_drift_is_found(shop_copy, models):
    shop_copy.sql(
        "DROP TABLE orders_orderline",
        "ALTER TABLE customers_customer DROP COLUMN phone",
        "ALTER TABLE products_product ALTER COLUMN sku TYPE varchar(16)",
        "ALTER TABLE orders_order ALTER COLUMN note DROP NOT NULL",
        "ALTER TABLE products_product ALTER COLUMN category SET NOT NULL",
        "DROP INDEX product_category_idx",
        "CREATE TABLE legacy_stuff (id int PRIMARY KEY)",
        "ALTER TABLE orders_order ADD COLUMN legacy_code text NOT NULL",
        "ALTER TABLE orders_order ADD COLUMN extra int",
        "CREATE INDEX hand_made ON orders_order (status, total)",
        """DO $$ DECLARE c name; BEGIN
             SELECT conname INTO c FROM pg_constraint
             WHERE conrelid = 'customers_customer'::regclass AND contype = 'u';
             EXECUTE format('ALTER TABLE customers_customer DROP CONSTRAINT %I', c);
           END $$""",
    )
    found = {(f.code, f.obj): f for f in shop_copy.audit(*DRIFT, models=models)}
    assert ("AU301", "orders_orderline") in found
    assert ("AU302", "customers_customer.phone") in found
    assert found[("AU303", "products_product.sku")].evidence == {
        "model_type": "varchar(32)",
        "db_type": "character varying(16)",
    }
    assert found[("AU304", "orders_order.note")].severity is Severity.WARNING
    assert found[("AU304", "products_product.category")].severity is Severity.ERROR
    assert ("AU305", "products_product.product_category_idx") in found
    assert ("AU306", "customers_customer.email") in found
    assert ("AU307", "legacy_stuff") in found
    assert found[("AU308", "orders_order.legacy_code")].severity is Severity.ERROR
    assert found[("AU308", "orders_order.extra")].severity is Severity.INFO
    assert ("AU309", "hand_made") in found
    # nothing else: the untouched parts of the schema still match the models
    assert len(found) == 11, sorted(found)


def test_a_proven_suggestion_on_a_model_table_is_an_add_index_concurrently_migration(
    shop_copy, models
):
    from schemaops.audit._base import AuditContext
    from schemaops.audit.runner import open_readonly
    from schemaops.audit.suggest import _suggestion_hit, prove

    shop_copy.sql(
        "CREATE EXTENSION hypopg",
        "INSERT INTO products_product (sku, name, price, stock) "
        "SELECT 's' || g, 'n' || g, 1, g FROM generate_series(1, 100000) g",
        "ANALYZE products_product",
    )
    conn = open_readonly(shop_copy.params, "30s")
    try:
        ctx = AuditContext(conn, models=models)
        found = prove(ctx, "SELECT * FROM products_product WHERE stock = $1")
        assert list(found) == [("public", "products_product", ("stock",))]
        stats = {"queryid": 1, "calls": 60, "mean_ms": 30.0, "total_ms": 1800.0, "query": "q"}
        proof = {**found[("public", "products_product", ("stock",))], **stats}
        hit = _suggestion_hit(ctx, "public", "products_product", ["stock"], [proof])
    finally:
        conn.close()
    assert "[products.Product.stock]" in hit.message
    assert "AddIndexConcurrently(\n" in hit.fix
    assert '"product",' in hit.fix and "models.Index(fields=['stock']" in hit.fix
    assert 'dependencies = [("products", "0003_product_name_idx")]' in hit.fix


def test_drift_is_skipped_when_the_models_schema_is_left_out(shop_copy, models):
    from schemaops.audit.runner import run_audit, select

    shop_copy.sql("CREATE SCHEMA tenant_a", "CREATE TABLE tenant_a.t (id int PRIMARY KEY)")
    shop_copy.sql("DROP INDEX product_category_idx")
    codes = select(["AU301", "AU305"])
    result = run_audit(shop_copy.params, codes, models=models, schemas=["tenant_*"])
    assert set(result.skipped) == {"AU301", "AU305"}
    assert "--schema" in result.skipped["AU305"] and result.findings == []
    result = run_audit(shop_copy.params, codes, models=models, schemas=["public", "tenant_*"])
    assert [f.code for f in result.findings] == ["AU305"]
