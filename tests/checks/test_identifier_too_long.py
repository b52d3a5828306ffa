from django.db import migrations, models
from lintkit import codes, lint
from models import order_model, recipe_sql

LONG = "order_amount_must_never_be_negative_even_for_refunds_and_credit_notes"  # 69 bytes
KEPT = LONG.encode()[:63].decode()


def so607(findings):
    return [f for f in findings if f.code == "SO607"]


def _exec_operation(recipe):
    """The recipe is an import block and one operation (a list item, so a 1-tuple here)."""
    namespace = {}
    exec(recipe.replace("\n\nmigrations.", "\n\nop = migrations."), namespace)
    (op,) = namespace["op"]
    return op


def test_long_constraint_name_fires_and_recipe_shortens_it():
    op = migrations.AddConstraint(
        "order", models.CheckConstraint(condition=models.Q(amount__gte=0), name=LONG)
    )
    (f,) = so607(lint([op], setup=[order_model()]))
    assert f.severity.label == "warning"
    assert f"constraint {LONG} is 69 bytes" in f.message and f"keeps only {KEPT}" in f.message
    fixed = _exec_operation(f.recipe)
    assert len(fixed.constraint.name.encode()) <= 63
    assert fixed.constraint.name.startswith(LONG[:40]) and fixed.constraint.name != KEPT


def test_create_model_table_column_and_index_names():
    model = migrations.CreateModel(
        "Thing",
        [("id", models.BigAutoField(primary_key=True)), ("x" * 70, models.IntegerField())],
        options={
            "db_table": "é" * 32,  # 64 bytes, 32 characters
            "indexes": [models.Index(fields=["id"], name="thing_id_idx")],
        },
    )
    (f,) = so607(lint([model]))
    assert "db_table" in f.message and "is 64 bytes" in f.message
    assert f"column {'x' * 70} is 70 bytes" in f.message and "thing_id_idx" not in f.message
    fixed = _exec_operation(f.recipe)
    assert len(fixed.options["db_table"].encode()) <= 63
    assert len(fixed.fields[1][1].db_column.encode()) <= 63
    assert fixed.options["indexes"][0].name == "thing_id_idx"


def test_runsql_identifiers_are_shortened_in_every_statement():
    sql = migrations.RunSQL(
        f'CREATE TABLE shop_x (id int, "{LONG}" int);'
        f"ALTER TABLE shop_x ADD CONSTRAINT c CHECK ({LONG} > 0)"
    )
    findings = so607(lint([sql]))
    assert len(findings) == 2  # one per statement naming it
    from django.db.migrations import RunSQL

    namespace = {"migrations": migrations}
    exec("op = " + findings[0].recipe, namespace)
    assert isinstance(namespace["op"], RunSQL)
    statements = recipe_sql(type("M", (), {"operations": [namespace["op"]]}))
    assert all(LONG not in s and KEPT not in s for s in statements)
    short = LONG.encode()[:54].decode()
    assert all(short in s for s in statements)


def test_runsql_names_sharing_63_bytes_are_reported_as_a_clash():
    sql = migrations.RunSQL(f"CREATE TABLE {LONG}_a (id int); CREATE TABLE {LONG}_b (id int)")
    f = so607(lint([sql]))[0]
    assert "several names become" in f.message
    assert f"# rename {LONG}_a to " in f.recipe and f"# rename {LONG}_b to " in f.recipe


def test_short_and_generated_names_pass():
    long_model = migrations.CreateModel(
        "A" * 70, [("id", models.BigAutoField(primary_key=True))]
    )  # Django cuts the default table name itself
    ok = migrations.RunSQL("CREATE TABLE shop_y (id int); SELECT 1")
    same_column = migrations.AlterField("order", "code", models.CharField(max_length=30))
    found = lint([long_model, ok, same_column], setup=[order_model()])
    assert "SO607" not in codes(found)
