import uuid

from django.db import migrations, models
from lintkit import codes, lint
from models import customer_model, order_model


def add(field, name="status"):
    return migrations.AddField("order", name, field)


def test_not_null_with_python_default_fires_with_db_default_recipe():
    findings = lint([add(models.CharField(max_length=20, default="new"))], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO107"]
    assert len(findings) == 1
    f = findings[0]
    assert "shop_order.status (Order.status)" in f.message and "INSERTs fail" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert "db_default='new'" in f.recipe
    assert "(the one-line fix: db_default='new')" in f.message


def test_db_default_recipe_is_itself_clean():
    field = models.CharField(max_length=20, default="new", db_default="new")
    assert "SO107" not in codes(lint([add(field)], setup=[order_model()]))


def test_null_db_default_is_no_default():
    field = models.CharField(max_length=20, db_default=None)
    assert "SO107" in codes(lint([add(field)], setup=[order_model()]))


def planned_files(op, setup):
    """The planner's whole remedy of ``op`` (what `check` shows and `fix` writes): its
    files as (name, Migration class), each executed."""
    from lintkit import APP, make_migration
    from remedykit import remedies_of, without_timeouts

    from schemaops.remedy.writer import layout

    (remedy,) = remedies_of([op], setup).values()
    mig = make_migration("0002_change", [op], dependencies=[(APP, "0001_initial")])
    out = []
    for f in layout(APP, mig, {0: remedy}, leaf="0002_change"):
        namespace: dict = {}
        exec(compile(f.code, f.name, "exec"), namespace)
        out.append((f.name, without_timeouts(namespace["Migration"])))
    return remedy, out


def test_callable_default_gets_expand_backfill_contract_recipe():
    field = models.UUIDField(default=uuid.uuid4)
    f = next(f for f in lint([add(field, "token")], setup=[order_model()]) if f.code == "SO107")
    assert "one-line fix" not in f.message  # the database cannot keep a per-row default
    assert "Add token nullable" in f.recipe and "schemaops backfill" in f.recipe
    assert "`schemaops fix` writes these migrations" in f.recipe
    remedy, _files = planned_files(add(field, "token"), [order_model()])
    assert remedy.backfill.endswith(
        'schemaops backfill start shop.Order --set "token = gen_random_uuid()" '
        '--where "token IS NULL" --wait'
    )


def test_nullable_field_is_safe():
    field = models.CharField(max_length=20, null=True)
    assert "SO107" not in codes(lint([add(field)], setup=[order_model()]))


def test_new_table_and_many_to_many_are_exempt():
    field = models.CharField(max_length=20, default="new")
    assert "SO107" not in codes(lint([order_model(), add(field)]))
    m2m = models.ManyToManyField("shop.Order")
    assert "SO107" not in codes(lint([add(m2m, "related")], setup=[order_model()]))


def test_post_deploy_migration_is_allowed():
    field = models.CharField(max_length=20, default="new")
    findings = lint([add(field)], setup=[order_model()], deploy_phase="post")
    assert "SO107" not in codes(findings)


def test_expand_backfill_contract_recipe_is_a_valid_chain_of_migrations():
    field = models.UUIDField(default=uuid.uuid4)
    _remedy, files = planned_files(add(field, "token"), [order_model()])
    (_, expand), *post = files
    assert expand.dependencies == [("shop", "0001_initial")]
    (separate,) = expand.operations
    assert separate.state_operations[0].field.default is uuid.uuid4
    assert 'ADD COLUMN "token" uuid NULL' in separate.database_operations[0].sql[0]
    assert post and all(m.deploy_phase == "post" for _n, m in post)
    sql = " ".join(
        s for _n, m in post for op in m.operations for s in op.database_operations[0].sql
    )
    assert "CHECK (token IS NOT NULL) NOT VALID" in sql and "VALIDATE CONSTRAINT" in sql


def test_db_default_recipe_imports_what_it_needs_and_maps_timezone_now_to_now():
    import datetime
    import decimal

    from django.db.models.functions import Now
    from django.utils import timezone

    from schemaops.checks.add_field_not_null_without_db_default import _db_default_code

    fields = {
        "created": models.DateTimeField(default=timezone.now),
        "price": models.DecimalField(
            max_digits=5, decimal_places=2, default=decimal.Decimal("1.5")
        ),
        "day": models.DateField(default=datetime.date(2026, 1, 1)),
    }
    for name, field in fields.items():
        f = next(f for f in lint([add(field, name)], setup=[order_model()]) if f.code == "SO107")
        code, imports = _db_default_code(field)
        assert f"db_default={code}" in f.recipe and f"db_default={code}" in f.message
        assert all(line in f.recipe for line in imports)
        namespace: dict = {}
        exec("\n".join([*imports, f"value = {code}"]), namespace)  # every name is imported
        if name == "created":
            assert isinstance(namespace["value"], Now) and code == "Now()"
        else:
            assert namespace["value"] == field.default


def test_recipe_chain_lints_clean_of_additive_and_lock_errors():
    from remedykit import lint_chain

    field = models.UUIDField(default=uuid.uuid4)
    _remedy, files = planned_files(add(field, "token"), [order_model()])
    found = lint_chain(files, [order_model()])
    ours = {"SO107", "SO108", "SO109", "SO110", "SO201", "SO303"}
    assert len(files) >= 3 and not [x.code for x in found if x.code in ours]


def test_order_with_respect_to_adds_a_not_null_order_column():
    setup = [
        customer_model(),
        order_model(("customer", models.ForeignKey("shop.Customer", on_delete=models.CASCADE))),
    ]
    op = migrations.AlterOrderWithRespectTo("order", "customer")
    (f,) = [f for f in lint([op], setup=setup) if f.code == "SO107"]
    assert f.message.startswith("AlterOrderWithRespectTo Order adds shop_order._order NOT NULL")
    assert "ADD COLUMN _order integer NOT NULL DEFAULT 0" in f.recipe
    namespace: dict = {}
    exec(compile(f.recipe, "recipe", "exec"), namespace)
    (recipe_op,) = namespace["Migration"].operations
    assert recipe_op.state_operations[0].order_with_respect_to == "customer"
    # the recipe itself is clean, and on a table of this migration the column is harmless
    assert "SO107" not in codes(lint([recipe_op], setup=setup))
    new_table = [customer_model(), setup[1], op]
    assert "SO107" not in codes(lint(new_table))


def test_fields_without_a_column_are_exempt():
    class NoColumnField(models.Field):
        def db_type(self, connection):
            return None

    ops = [
        migrations.AddField("order", "virtual", NoColumnField()),
        migrations.AddField(
            "order",
            "customer_link",
            models.ForeignObject(
                "shop.Customer", on_delete=models.CASCADE, from_fields=["amount"], to_fields=["id"]
            ),
        ),
    ]
    assert "SO107" not in codes(lint(ops, setup=[customer_model(), order_model()]))


def test_blank_text_field_is_filled_by_django_so_the_add_does_not_fail():
    # Django writes ADD COLUMN ... DEFAULT '' for a blank NOT NULL text field, then drops it
    field = models.CharField(max_length=20, blank=True)
    (f,) = [f for f in lint([add(field)], setup=[order_model()]) if f.code == "SO107"]
    assert "fails on a non-empty table" not in f.message
    assert "DEFAULT ''" in f.message and "INSERTs fail" in f.message
    assert "db_default=''" in f.recipe
    fixed = models.CharField(max_length=20, blank=True, db_default="")
    assert "SO107" not in codes(lint([add(fixed)], setup=[order_model()]))


def test_auto_now_field_is_filled_with_now_and_gets_a_now_db_default():
    field = models.DateTimeField(auto_now_add=True)
    (f,) = [f for f in lint([add(field, "created")], setup=[order_model()]) if f.code == "SO107"]
    assert "DEFAULT now()" in f.message and "db_default=Now()" in f.recipe


def test_field_without_any_default_fails_on_a_non_empty_table():
    field = models.CharField(max_length=20)
    (f,) = [f for f in lint([add(field)], setup=[order_model()]) if f.code == "SO107"]
    assert "ADD COLUMN fails on a non-empty table" in f.message


def test_raw_sql_add_not_null_with_default_then_drop_default_fires():
    sql = (
        "ALTER TABLE shop_order ADD COLUMN x int NOT NULL DEFAULT 0;"
        "ALTER TABLE shop_order ALTER COLUMN x DROP DEFAULT"
    )
    (f,) = [f for f in lint([migrations.RunSQL(sql)], setup=[order_model()]) if f.code == "SO107"]
    assert "shop_order.x loses the DEFAULT it was added with" in f.message


def test_raw_sql_add_not_null_keeping_its_default_is_safe():
    sql = "ALTER TABLE shop_order ADD COLUMN x int NOT NULL DEFAULT 0"
    assert "SO107" not in codes(lint([migrations.RunSQL(sql)], setup=[order_model()]))
    new_table = "CREATE TABLE t (id int); ALTER TABLE t ADD COLUMN x int NOT NULL"
    assert "SO107" not in codes(lint([migrations.RunSQL(new_table)]))
