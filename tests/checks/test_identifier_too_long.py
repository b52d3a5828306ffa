from django.contrib.contenttypes.fields import GenericRelation
from django.db import migrations, models
from lintkit import codes, lint
from models import TaggableManagerStandIn, order_model, recipe_sql, tag_models

from schemaops.checks.identifier_too_long import shortened

LONG = "order_amount_must_never_be_negative_even_for_refunds_and_credit_notes"  # 69 bytes
KEPT = LONG.encode()[:63].decode()


def so607(findings):
    return [f for f in findings if f.code == "SO607"]


def _exec_operation(recipe):
    """The recipe is one migration module (the planner's writer) with the fixed operation."""
    from models import recipe_migrations

    (migration,) = recipe_migrations(recipe)
    assert migration.dependencies == [("shop", "0001_initial")]
    (op,) = migration.operations
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

    fixed = _exec_operation(findings[0].recipe)
    assert isinstance(fixed, RunSQL) and fixed.reverse_sql is None  # the user's reverse kept
    statements = recipe_sql(type("M", (), {"operations": [fixed]}))
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


# -- fields of every shape: nothing is read that a field may lack ------------------


class NoColumnField(models.Field):
    """A custom field the schema editor adds nothing for (``db_type`` is None)."""

    def db_type(self, connection):
        return None


class UncopyableField(models.IntegerField):
    """A custom field that cannot be deep-copied (holds something like a connection)."""

    def __deepcopy__(self, memo):
        raise TypeError("cannot copy this field")


def _photo(*fields):
    return migrations.CreateModel(
        "Photo",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("amount", models.IntegerField()),
            *fields,
        ],
    )


def test_taggable_manager_has_no_table_or_column_of_its_own():
    # django-taggit's TaggableManager: many_to_many, no db_table attribute, a through model
    long_tags = "tags_" + "x" * 70
    field = TaggableManagerStandIn()
    assert not hasattr(field, "db_table") and field.many_to_many
    create = _photo(("tags", TaggableManagerStandIn()), (long_tags, TaggableManagerStandIn()))
    add = migrations.AddField("order", long_tags, TaggableManagerStandIn())
    for want_sql in (False, True):
        found = lint([create, add], setup=[*tag_models(), order_model()], want_sql=want_sql)
        assert "SO607" not in codes(found)


def test_fields_without_a_column_pass_and_a_long_column_beside_them_is_reported():
    long_name = "y" * 70
    create = _photo(
        ("tags", TaggableManagerStandIn()),
        (
            long_name + "_fo",
            models.ForeignObject(
                "shop.Tag", on_delete=models.CASCADE, from_fields=["amount"], to_fields=["id"]
            ),
        ),
        (long_name + "_nc", NoColumnField()),
        (long_name + "_m2m", models.ManyToManyField("shop.Tag", through="shop.TaggedItem")),
        ("z" * 64, models.IntegerField(null=True)),
    )
    generic = migrations.AddField("order", long_name, GenericRelation("shop.TaggedItem"))
    assert "SO607" not in codes(lint([generic], setup=[*tag_models(), order_model()]))
    (f,) = so607(lint([create], setup=tag_models()))
    assert f.message.count(" is ") == 1 and f"column {'z' * 64} is 64 bytes" in f.message
    # the stand-in's path is "models.TaggableManagerStandIn", which Django's writer cannot
    # tell from django.db.models: read the module rather than run it
    compile(f.recipe, "recipe", "exec")
    assert f"db_column='{shortened('z' * 64)}'" in f.recipe
    assert "TaggableManagerStandIn(" in f.recipe and "_fo'" in f.recipe and "_nc'" in f.recipe


def test_an_auto_created_m2m_table_name_is_checked():
    own = migrations.AddField(
        "order", "tags", models.ManyToManyField("shop.Tag", db_table="t" * 64)
    )
    (f,) = so607(lint([own], setup=[*tag_models(), order_model()]))
    assert f"many-to-many db_table {'t' * 64} is 64 bytes" in f.message
    assert len(_exec_operation(f.recipe).field.db_table) <= 63


def test_a_field_that_cannot_be_copied_gets_the_renames_as_its_recipe():
    op = migrations.AddField("order", "w" * 70, UncopyableField(null=True))
    (f,) = so607(lint([op], setup=[order_model()]))
    assert f"column {'w' * 70} is 70 bytes" in f.message
    assert f.recipe == f"# rename {'w' * 70} to {shortened('w' * 70)}"


def test_runsql_list_items_keep_their_params_and_the_reverse():
    sql = migrations.RunSQL(
        [
            f"CREATE TABLE shop_y (id int, {LONG} int)",
            ("INSERT INTO shop_y (id) VALUES (%s)", [1]),  # %s: pglast cannot parse it
            f"CREATE INDEX ON shop_y ({LONG})",
        ],
        reverse_sql="DROP TABLE shop_y",
    )
    f = so607(lint([sql]))[0]
    fixed = _exec_operation(f.recipe)
    create, insert, index = fixed.sql
    assert shortened(LONG) in create and shortened(LONG) in index and KEPT not in index
    assert insert == ("INSERT INTO shop_y (id) VALUES (%s)", [1])
    assert fixed.reverse_sql == "DROP TABLE shop_y"
    short = migrations.RunSQL("CREATE TABLE shop_y (id int, amount int)", "DROP TABLE shop_y")
    assert not so607(lint([short]))
