"""Reusable setup operations for rule tests: an ``order`` model in app ``shop``."""

from django.db import migrations, models
from django.db.models import ManyToManyRel
from django.db.models.fields.related import RelatedField
from lintkit import order_model as order_model  # the rule tests import it from here


def customer_model():
    return migrations.CreateModel(
        name="Customer",
        fields=[
            ("id", models.BigAutoField(primary_key=True)),
            ("email", models.CharField(max_length=100)),
        ],
    )


def coupon_model():
    """A model with a foreign key to Order and an auto-created many-to-many to Customer."""
    return migrations.CreateModel(
        name="Coupon",
        fields=[
            ("id", models.BigAutoField(primary_key=True)),
            ("order", models.ForeignKey("shop.Order", on_delete=models.CASCADE)),
            ("customers", models.ManyToManyField("shop.Customer")),
        ],
    )


# -- running recipes on a real PostgreSQL ----------------------------------------


def setup_sql(setup):
    """The SQL Django runs for the setup operations (migration 0001 of app ``shop``)."""
    from lintkit import FakeLoader, make_migration

    from schemaops.plan import Walker

    walker = Walker(FakeLoader([make_migration("0001_initial", setup)]), want_sql=lambda s: True)
    return [sql for step in walker.walk() for op in step.operations for sql in op.sql or ()]


def recipe_migrations(recipe):
    """Execute every migration module of a recipe; return their Migration classes in order."""
    modules, current = [], None
    for line in recipe.splitlines():
        if line.startswith("# ") and "/migrations/" in line:
            current = [line]
            modules.append(current)
        elif line.startswith("#") and current is not None:
            current = None
        elif current is not None:
            current.append(line)
    out = []
    for lines in modules:
        namespace = {}
        exec("\n".join(lines), namespace)  # the recipe must be valid Python
        out.append(namespace["Migration"])
    return out


def recipe_sql(migration):
    """The SQL statements of a recipe migration's RunSQL operations (database side)."""
    from schemaops.checks._data import runsql_texts
    from schemaops.statements import parse

    out = []
    for op in migration.operations:
        inner = getattr(op, "database_operations", None)
        for sub in [op] if inner is None else inner:
            for text in runsql_texts(getattr(sub, "sql", None)):
                out.extend(stmt.sql for stmt in parse(text))
    return out


def pg_connect(params):
    """An autocommit psycopg2 connection to a scratch database."""
    import psycopg2

    conn = psycopg2.connect(**params)
    conn.autocommit = True
    return conn


def lint_recipe_chain(recipe, setup):
    """Lint a recipe's migrations as consecutive migrations after ``setup``; all findings."""
    from lintkit import FakeLoader, make_migration

    from schemaops.config import Config
    from schemaops.linter import Linter

    migrations_, previous = [make_migration("0001_initial", setup)], "0001_initial"
    for number, migration in enumerate(recipe_migrations(recipe), 2):
        name = f"{number:04d}_recipe"
        phase = (
            {"deploy_phase": migration.deploy_phase} if hasattr(migration, "deploy_phase") else {}
        )
        migrations_.append(
            make_migration(
                name,
                list(migration.operations),
                dependencies=[("shop", previous)],
                atomic=migration.atomic,
                **phase,
            )
        )
        previous = name
    linter = Linter(FakeLoader(migrations_), Config())
    return linter.run({("shop", m.name) for m in migrations_[1:]}).findings


# -- fields of unusual shapes -------------------------------------------------------


class TaggableManagerStandIn(RelatedField):
    """Shaped like django-taggit's ``TaggableManager`` (not installed here).

    A many-to-many-like relation through a model of its own, with no column,
    no ``db_table`` attribute and no ``db_type``: what wagtailimages and
    wagtaildocs migrations hold.
    """

    many_to_many = True
    many_to_one = False
    one_to_many = False
    one_to_one = False

    def __init__(self, to="shop.Tag", through="shop.TaggedItem", **kwargs):
        kwargs["rel"] = ManyToManyRel(self, to, through=through)
        kwargs.setdefault("blank", True)
        kwargs["serialize"] = False
        super().__init__(**kwargs)

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        for key in ("rel", "serialize", "blank"):
            kwargs.pop(key, None)
        kwargs["to"] = self.remote_field.model
        kwargs["through"] = self.remote_field.through
        return name, "models.TaggableManagerStandIn", args, kwargs

    def get_internal_type(self):
        return "ManyToManyField"

    def db_type(self, connection):
        return None


def tag_models():
    """Tag and TaggedItem (the through model of ``TaggableManagerStandIn``)."""
    return [
        migrations.CreateModel(
            name="Tag",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("name", models.CharField(max_length=100)),
            ],
        ),
        migrations.CreateModel(
            name="TaggedItem",
            fields=[
                ("id", models.BigAutoField(primary_key=True)),
                ("object_id", models.IntegerField()),
                ("tag", models.ForeignKey("shop.Tag", on_delete=models.CASCADE)),
            ],
        ),
    ]
