"""A Django project with one app per remedy case, written into a temp folder.

Every app has the same ``0001_initial`` (Parent, Extra and Item tables; Item
has an index on ``qty`` and a nullable foreign key ``ref``) and an unsafe
``0002`` whose operation is the case. The proof runs ``schemaops fix`` on
the project and compares the result with the original migrations applied to
a database of their own.

``bench/remedy_sample.py`` writes its ``shapes`` project with the same
:func:`write_apps`, adding models and fields through :class:`Additions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SETTINGS = """
import os
SECRET_KEY = "x"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", *{apps!r}]
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.postgresql",
    "NAME": os.environ["PROOF_DB_NAME"], "USER": "postgres",
    "HOST": "127.0.0.1", "PORT": "5432",
}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
"""

INITIAL = """%(imports)sfrom django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel("Parent", [
            ("id", models.BigAutoField(primary_key=True)),
            ("title", models.CharField(max_length=40, null=True)),
        ]),
        migrations.CreateModel("Extra", [
            ("id", models.BigAutoField(primary_key=True)),
            ("note", models.TextField(null=True)),
        ]),%(before)s
        migrations.CreateModel("Item", [
            ("id", models.BigAutoField(primary_key=True)),
            ("name", models.CharField(max_length=40, null=True)),
            ("qty", models.IntegerField(null=True)),
            ("code", models.CharField(max_length=20, null=True)),
            ("legacy", models.CharField(max_length=20, default="x")),
            ("ref", models.ForeignKey("parent", null=True, on_delete=models.CASCADE)),%(extra)s
        ], options={"indexes": [models.Index(fields=["qty"], name="%(app)s_qty_idx")]}),%(after)s
    ]
"""

UNSAFE = """%(imports)sfrom django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [{dependencies}]
    operations = [
        {operation},
    ]
"""

# case -> (operation code, the remedy kind the planner must choose)
CASES: dict[str, tuple[str, str]] = {
    "add_index": (
        'migrations.AddIndex("item", models.Index(fields=["name"], name="%(app)s_name_idx"))',
        "concurrent-index",
    ),
    "add_indexed_field": (
        'migrations.AddField("item", "sku", models.CharField(max_length=30, null=True, '
        "db_index=True))",
        "concurrent-index",
    ),
    "remove_index": ('migrations.RemoveIndex("item", "%(app)s_qty_idx")', "concurrent-index"),
    "add_fk": (
        'migrations.AddField("item", "parent", models.ForeignKey("parent", null=True, '
        "on_delete=models.CASCADE))",
        "not-valid-then-validate+concurrent-index",
    ),
    "add_fk_user": (
        'migrations.AddField("item", "owner", models.ForeignKey(settings.AUTH_USER_MODEL, '
        "null=True, on_delete=models.CASCADE))",
        "not-valid-then-validate+concurrent-index",
    ),
    "add_check": (
        'migrations.AddConstraint("item", models.CheckConstraint('
        'condition=models.Q(qty__gte=0), name="%(app)s_qty_gte_0"))',
        "not-valid-then-validate",
    ),
    "add_unique": (
        'migrations.AddConstraint("item", models.UniqueConstraint(fields=["code"], '
        'name="%(app)s_code_uniq"))',
        "unique-using-index",
    ),
    "add_unique_field": (
        'migrations.AddField("item", "serial", models.CharField(max_length=30, null=True, '
        "unique=True))",
        "unique-using-index+concurrent-index",
    ),
    "fk_repoint": (  # the same key type (Item's own bigint id): the old key dropped by the
        # name Django gave it, the new one added NOT VALID and validated after
        'migrations.AlterField("item", "ref", models.ForeignKey("item", null=True, '
        "on_delete=models.CASCADE))",
        "not-valid-then-validate",
    ),
    "fk_set_not_null": (  # the nullability change of SO204: the FK's index must stay
        'migrations.AlterField("item", "ref", models.ForeignKey("parent", '
        "on_delete=models.CASCADE))",
        "not-null-by-check",
    ),
    "set_not_null": (
        'migrations.AlterField("item", "qty", models.IntegerField())',
        "not-null-by-check",
    ),
    "add_not_null_default": (
        'migrations.AddField("item", "status", models.CharField(max_length=10, default="new"))',
        "db-default-until-deployed",
    ),
    "remove_field": ('migrations.RemoveField("item", "legacy")', "expand-contract"),
    "delete_model": ('migrations.DeleteModel("extra")', "expand-contract"),
}


@dataclass(frozen=True)
class Additions:
    """What every app of a project holds beyond the proof's plain ``0001``.

    ``installed_apps`` come before the case apps; ``initial_imports`` and
    ``unsafe_imports`` are whole import lines that head the ``0001`` and the
    ``0002``; ``before_item`` and ``after_item`` are ``CreateModel`` operations
    (each starting with a newline) around Item's; ``item_fields`` are more Item
    fields (likewise). ``%(app)s`` in any of them is the app label.
    """

    installed_apps: Sequence[str] = ()
    initial_imports: str = ""
    unsafe_imports: str = ""
    before_item: str = ""
    item_fields: str = ""
    after_item: str = ""


PLAIN = Additions()


def initial_migration(app: str, item_fields: str = "", additions: Additions = PLAIN) -> str:
    """The ``0001_initial`` of ``app``: Parent, Extra and Item, with ``additions``."""
    code = (
        INITIAL.replace("%(imports)s", additions.initial_imports)
        .replace("%(before)s", additions.before_item)
        .replace("%(extra)s", additions.item_fields + item_fields)
        .replace("%(after)s", additions.after_item)
    )
    return code.replace("%(app)s", app)


def unsafe_migration(app: str, operation: str, additions: Additions = PLAIN) -> str:
    """The ``0002_unsafe`` of ``app``: ``operation`` after its ``0001`` (and after the
    user model's migration when it refers to it)."""
    deps = f'("{app}", "0001_initial")'
    if "AUTH_USER_MODEL" in operation:
        deps += ", migrations.swappable_dependency(settings.AUTH_USER_MODEL)"
    code = UNSAFE.replace("%(imports)s", additions.unsafe_imports)
    return code.format(dependencies=deps, operation=operation.replace("%(app)s", app))


def write_apps(
    root: Path,
    operations: Mapping[str, str],
    item_fields: Mapping[str, str] | None = None,
    additions: Additions = PLAIN,
) -> None:
    """Write the project ``proofproj`` whose apps are the keys of ``operations`` (app
    label -> its unsafe operation); ``item_fields`` gives an app's Item more fields."""
    (root / "proofproj").mkdir(parents=True)
    (root / "proofproj" / "__init__.py").write_text("")
    installed = [*additions.installed_apps, *operations]
    (root / "proofproj" / "settings.py").write_text(SETTINGS.format(apps=installed))
    (root / "manage.py").write_text(
        "import os, sys\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proofproj.settings')\n"
        "from django.core.management import execute_from_command_line\n"
        "execute_from_command_line(sys.argv)\n"
    )
    (root / "pyproject.toml").write_text(
        # no assume-timeouts: the written files must set lock_timeout themselves (SO401)
        '[tool.schemaops]\nsettings = "proofproj.settings"\n'
    )
    for app, operation in operations.items():
        folder = root / app / "migrations"
        folder.mkdir(parents=True)
        (root / app / "__init__.py").write_text("")
        (folder / "__init__.py").write_text("")
        fields = (item_fields or {}).get(app, "")
        (folder / "0001_initial.py").write_text(initial_migration(app, fields, additions))
        (folder / "0002_unsafe.py").write_text(unsafe_migration(app, operation, additions))


def write(
    root: Path,
    cases: dict[str, tuple[str, str]] = CASES,
    extra_fields: dict[str, str] | None = None,
) -> list[str]:
    """Write the project; return its app labels (``c_<case>``).

    ``extra_fields`` gives a case's Item one more field, ``f`` (its code).
    """
    operations = {f"c_{case}": operation for case, (operation, _) in cases.items()}
    fields = {
        f"c_{case}": f'\n            ("f", {code}),'
        for case, code in (extra_fields or {}).items()
        if code
    }
    write_apps(root, operations, fields)
    return list(operations)


def declared_as_in_models_py(root: Path, apps: list[str]) -> None:
    """The 0001s' primary keys and foreign key targets as a models.py declares them
    (``serialize=False``, app-qualified), so ``makemigrations --check`` can match them."""
    for app in apps:
        path = root / app / "migrations" / "0001_initial.py"
        pk = "models.BigAutoField(primary_key=True"
        text = path.read_text().replace(pk, pk + ", serialize=False")
        path.write_text(text.replace('ForeignKey("parent"', f'ForeignKey("{app}.parent"'))


def post_deploy(root: Path, apps: list[str]) -> None:
    """Mark the unsafe 0002 of each of ``apps`` ``deploy_phase = "post"``."""
    for app in apps:
        path = root / app / "migrations" / "0002_unsafe.py"
        line = "class Migration(migrations.Migration):\n"
        path.write_text(path.read_text().replace(line, line + '    deploy_phase = "post"\n'))


MODELS_PY = """{imports}from django.db import models


class Parent(models.Model):
    title = models.CharField(max_length=40, null=True)


class Extra(models.Model):
    note = models.TextField(null=True)


class Item(models.Model):
    name = models.CharField(max_length=40, null=True)
    qty = models.IntegerField({qty})
    code = models.CharField(max_length=20, null=True)
    legacy = models.CharField(max_length=20, default="x")
    ref = models.ForeignKey(Parent, null=True, on_delete=models.CASCADE)
{fields}
    class Meta:
        indexes = [
{indexes}        ]
"""


def models_py(
    app: str, *, imports: str = "", qty: str = "null=True", fields: str = "", indexes: str = ""
) -> str:
    """The models.py of ``app`` as its 0001 makes them (backfills import the real models):
    ``imports`` and ``fields`` (lines of Item) added, Item's ``qty`` options, and index lines
    after the 0001's own ``<app>_qty_idx``."""
    own = f'            models.Index(fields=["qty"], name="{app}_qty_idx"),\n'
    return MODELS_PY.format(imports=imports, qty=qty, fields=fields, indexes=own + indexes)


def with_backfill_app(root: Path) -> None:
    """The proof project's settings with the backfill app installed."""
    settings = root / "proofproj" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            '"django.contrib.auth",', '"django.contrib.auth", "schemaops.backfill",'
        )
    )
