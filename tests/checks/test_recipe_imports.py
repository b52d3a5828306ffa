"""Recipes are whole migration modules: pasted as they are, they import and run."""

from django.core.files.storage import FileSystemStorage
from django.core.validators import MinValueValidator
from django.db import migrations, models
from django.db.models import Q
from django.db.models.functions import Upper
from lintkit import lint
from models import customer_model, order_model

from schemaops.checks._data import operation_code
from schemaops.checks._lockrecipes import Code


def _run(recipe: str) -> None:
    """Import every migration module of a recipe (each starts at its file-name comment)."""
    modules: list[list[str]] = []
    for line in recipe.splitlines():
        if line.startswith("# ") and "/migrations/XXXX_" in line and line.endswith(".py"):
            modules.append([])
        elif modules:
            modules[-1].append(line)
    assert modules
    for lines in modules:
        exec(compile("\n".join(lines), "recipe", "exec"), {})


def _recipe(code, ops, setup):
    (f,) = [f for f in lint(ops, setup=setup) if f.code == code]
    assert "class Migration(" in f.recipe
    return f.recipe


def test_field_values_of_any_module_are_imported():
    field = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    recipe = _recipe("SO107", [migrations.AddField("order", "rank", field)], [order_model()])
    assert "object at 0x" not in recipe
    assert "from django.core.validators import MinValueValidator" in recipe
    _run(recipe)


def test_a_deconstructible_from_an_unknown_module_is_written_with_its_path():
    field = models.FileField(storage=FileSystemStorage(location="/srv"), default="x.txt")
    recipe = _recipe("SO107", [migrations.AddField("order", "doc", field)], [order_model()])
    assert "django.core.files.storage" in recipe
    _run(recipe)


def test_on_delete_path_and_functional_index_names_are_imported():
    fk = models.ForeignKey("shop.Customer", on_delete=models.CASCADE)
    setup = [customer_model(), order_model(("customer", fk))]
    nullable = models.ForeignKey("shop.Customer", null=True, on_delete=models.CASCADE)
    _run(_recipe("SO110", [migrations.AlterField("order", "customer", nullable)], setup))
    index = models.Index(Upper("code"), name="order_upper_code", condition=Q(amount__gt=0))
    from planned import planned  # SO201's remedy is the planner's: its files compile

    recipe = planned([migrations.AddIndex("order", index)], [order_model()])
    assert "django.db.models.functions" in recipe and "Upper(" in recipe


def forwards(apps, schema_editor):
    pass


def test_what_a_migration_module_defines_is_copied_not_imported():
    forwards.__module__ = "shop.migrations.0002_fill"
    code = Code()
    op = code.op(migrations.RunPython(forwards, migrations.RunPython.noop))
    assert op.startswith("migrations.RunPython(code=forwards,")
    assert "# forwards: copy it from shop.migrations.0002_fill" in code.header()
    assert "import shop.migrations.0002_fill" not in code.header()


class AddFieldKeepingUniqueness(migrations.AddField):
    pass


def test_a_custom_operation_class_of_a_migration_module_is_not_imported():
    AddFieldKeepingUniqueness.__module__ = "cms.migrations.0044_slug"
    op = AddFieldKeepingUniqueness("order", "slug", models.SlugField(default=""))
    text, imports = operation_code(op)
    assert text.startswith("AddFieldKeepingUniqueness(")
    assert not [i for i in imports if "0044" in i and i.startswith("import")]
    from planned import planned  # SO201's remedy is the planner's: its files compile

    recipe = planned([op], [order_model()])
    assert "\nfrom cms.migrations" not in recipe and "import cms.migrations" not in recipe
    assert "migrations.AddFieldKeepingUniqueness" not in recipe
    assert "migrations.AddField(" in recipe and "name='slug'" in recipe
