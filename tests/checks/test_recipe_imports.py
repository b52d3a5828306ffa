"""Remedies are whole migration modules written by the planner's writer (Django's
MigrationWriter): the names they use are imported, and nothing they import is a
module no file can import (a migration module such as ``0002_fill``)."""

from django.core.files.storage import FileSystemStorage
from django.core.validators import MinValueValidator
from django.db import migrations, models
from django.db.models import Q
from django.db.models.functions import Upper
from lintkit import APP, make_migration
from models import customer_model, order_model
from remedykit import remedies_of

from schemaops.remedy.writer import layout, migration_module


def _files(op, setup):
    """The planner's remedy of ``op`` as files, each executed (so every name it uses is
    imported); their code."""
    (remedy,) = remedies_of([op], setup).values()
    mig = make_migration("0002_change", [op], dependencies=[(APP, "0001_initial")])
    codes = []
    for f in layout(APP, mig, {0: remedy}, leaf="0002_change"):
        namespace: dict = {}
        exec(compile(f.code, f.name, "exec"), namespace)
        assert namespace["Migration"].operations
        codes.append(f.code)
    assert codes
    return "\n".join(codes)


def test_field_values_of_any_module_are_imported():
    field = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    code = _files(migrations.AddField("order", "rank", field), [order_model()])
    assert "object at 0x" not in code
    assert "import django.core.validators" in code
    assert "django.core.validators.MinValueValidator(0)" in code


def test_a_deconstructible_from_an_unknown_module_is_written_with_its_path():
    field = models.FileField(storage=FileSystemStorage(location="/srv"), default="x.txt")
    code = _files(migrations.AddField("order", "doc", field), [order_model()])
    assert "django.core.files.storage" in code


def test_on_delete_path_and_functional_index_names_are_imported():
    fk = models.ForeignKey("shop.Customer", on_delete=models.CASCADE)
    setup = [customer_model(), order_model(("customer", fk))]
    nullable = models.ForeignKey("shop.Customer", null=True, on_delete=models.CASCADE)
    code = _files(migrations.AlterField("order", "customer", nullable), setup)
    assert "on_delete=django.db.models.deletion.CASCADE" in code
    index = models.Index(Upper("code"), name="order_upper_code", condition=Q(amount__gt=0))
    code = _files(migrations.AddIndex("order", index), [order_model()])
    assert "django.db.models.functions" in code and "Upper(" in code


def forwards(apps, schema_editor):
    pass


def test_what_a_migration_module_defines_is_copied_not_imported():
    """A function of a migration module (``0002_fill``) cannot be imported: the writer
    (Django's, as squashmigrations) says to copy it, and writes no import of it."""
    forwards.__module__ = "shop.migrations.0002_fill"
    op = migrations.RunPython(forwards, migrations.RunPython.noop)
    try:
        code = migration_module(APP, "0003_fill", [op], [(APP, "0002_fill")])
    finally:
        forwards.__module__ = __name__
    assert "import shop.migrations" not in code
    assert "need manual copying" in code and "# shop.migrations.0002_fill" in code
    code = migration_module(APP, "0003_fill", [op], [(APP, "0002_fill")])
    namespace: dict = {}
    exec(compile(code, "recipe", "exec"), namespace)  # an importable module is imported
    assert f"import {__name__}" in code and "need manual copying" not in code


class AddFieldKeepingUniqueness(migrations.AddField):
    pass


def test_a_custom_operation_class_of_a_migration_module_is_not_imported():
    AddFieldKeepingUniqueness.__module__ = "cms.migrations.0044_slug"
    op = AddFieldKeepingUniqueness("order", "slug", models.SlugField(default=""))
    code = _files(op, [order_model()])
    assert "\nfrom cms.migrations" not in code and "import cms.migrations" not in code
    assert "migrations.AddFieldKeepingUniqueness" not in code
    assert "migrations.AddField(" in code and "name='slug'" in code
