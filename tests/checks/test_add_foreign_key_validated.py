from django.db import migrations, models
from lintkit import codes, lint
from models import customer_model, order_model


def so204(findings):
    return [f for f in findings if f.code == "SO204"]


def fk(**kwargs):
    return models.ForeignKey("shop.customer", models.PROTECT, null=True, **kwargs)


def test_add_nullable_foreign_key_without_default_is_not_validated():
    # ADD COLUMN ... REFERENCES without DEFAULT: the column is all NULL, PostgreSQL
    # skips the validation (0 rows read, checked with pg_stat_user_tables)
    op = migrations.AddField("order", "customer", fk())
    assert not so204(lint([op], setup=[customer_model(), order_model()]))
    sql = "ALTER TABLE shop_order ADD COLUMN c_id bigint NULL REFERENCES shop_customer (id)"
    assert not so204(lint([migrations.RunSQL(sql)], setup=[customer_model(), order_model()]))


def test_runsql_add_column_references_with_a_default_is_validated():
    sql = "ALTER TABLE shop_order ADD COLUMN c_id bigint DEFAULT 1 REFERENCES shop_customer (id)"
    assert so204(lint([migrations.RunSQL(sql)], setup=[customer_model(), order_model()]))


def test_add_foreign_key_field_with_default_fires_with_not_valid_then_validate():
    op = migrations.AddField("order", "customer", fk(default=1))
    findings = so204(lint([op], setup=[customer_model(), order_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert "Order.customer" in f.message and "shop_customer" in f.message
    # one ALTER TABLE ... ADD COLUMN ... REFERENCES: ACCESS EXCLUSIVE on the new column's
    # table (seen by schemaops trace), SHARE ROW EXCLUSIVE on the referenced one
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert 'SHARE ROW EXCLUSIVE on "shop_customer"' in f.lock
    assert "schemaops fix shop 0002_change" in f.recipe
    from planned import planned

    recipe = planned([op], [customer_model(), order_model()])
    assert "NOT VALID" in recipe and "VALIDATE CONSTRAINT shop_order_customer_id_" in recipe
    assert "REFERENCES shop_customer (id)" in recipe
    assert "CREATE INDEX CONCURRENTLY" in recipe


def test_foreign_key_without_constraint_is_safe():
    op = migrations.AddField("order", "customer", fk(db_constraint=False))
    assert "SO204" not in codes(lint([op], setup=[customer_model(), order_model()]))


def test_alter_field_turning_constraint_on_fires():
    setup = [customer_model(), order_model(("customer", fk(db_constraint=False)))]
    op = migrations.AlterField("order", "customer", fk())
    assert len(so204(lint([op], setup=setup))) == 1


def test_foreign_key_on_new_table_is_exempt():
    op = migrations.AddField("order", "customer", fk())
    assert "SO204" not in codes(lint([order_model(), op], setup=[customer_model()]))


def test_runsql_foreign_key_fires_and_not_valid_is_safe():
    setup = [customer_model(), order_model()]
    add = "ALTER TABLE shop_order ADD CONSTRAINT o_c FOREIGN KEY (amount) REFERENCES shop_customer"
    f = so204(lint([migrations.RunSQL(add)], setup=setup))[0]
    assert f"{add} NOT VALID" in f.recipe
    assert "ALTER TABLE shop_order VALIDATE CONSTRAINT o_c" in f.recipe
    good = lint([migrations.RunSQL(add + " NOT VALID")], setup=setup)
    assert "SO204" not in codes(good)


SKU = migrations.CreateModel(
    "Sku",
    [
        ("code", models.CharField(max_length=10, primary_key=True)),
        ("ean", models.CharField(max_length=13, unique=True)),
        ("name", models.CharField(max_length=10)),
    ],
)


def _line(**fk):
    return migrations.CreateModel(
        "Line",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("sku", models.ForeignKey("shop.sku", models.CASCADE, **fk)),
        ],
    )


def test_a_key_type_change_revalidates_the_foreign_keys_pointing_at_it():
    """Django drops the foreign keys pointing at a primary (or unique) key whose type
    changes and adds them back validated, even when the change rewrites nothing."""
    widen = migrations.AlterField("sku", "code", models.CharField(max_length=20, primary_key=True))
    (f,) = [f for f in lint([widen], setup=[SKU, _line()]) if f.code == "SO204"]
    assert "changes a key shop_line references" in f.message
    assert f.lock.startswith('SHARE ROW EXCLUSIVE on "shop_line"') and "shop_sku" in f.lock
    ean = migrations.AlterField("sku", "ean", models.CharField(max_length=14, unique=True))
    to_ean = _line(to_field="ean")
    assert "SO204" in codes(lint([ean], setup=[SKU, to_ean]))


def test_a_key_change_nothing_references_or_that_keeps_the_type_is_silent():
    widen = migrations.AlterField("sku", "code", models.CharField(max_length=20, primary_key=True))
    assert "SO204" not in codes(lint([widen], setup=[SKU]))
    ean = migrations.AlterField("sku", "ean", models.CharField(max_length=14, unique=True))
    assert "SO204" not in codes(lint([ean], setup=[SKU, _line()]))  # it points at code
    loose = _line(db_constraint=False)
    assert "SO204" not in codes(lint([widen], setup=[SKU, loose]))
    helped = migrations.AlterField(
        "sku", "code", models.CharField(max_length=10, primary_key=True, help_text="SKU")
    )
    assert "SO204" not in codes(lint([helped], setup=[SKU, _line()]))
