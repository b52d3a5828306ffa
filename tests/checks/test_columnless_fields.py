"""Field operations on a field without a column run no SQL, so no rule fires on them.

Django's schema editor adds, alters and drops nothing for a multi-column
``ForeignObject`` or a custom field whose ``db_type`` is None.
"""

from django.db import migrations, models
from lintkit import codes, lint
from models import customer_model, order_model

from schemaops.config import Config


class NoColumnField(models.Field):
    def db_type(self, connection):
        return None


def link(**options):
    return models.ForeignObject(
        "shop.Customer",
        on_delete=models.CASCADE,
        from_fields=["code"],
        to_fields=["email"],
        **options,
    )


SETUP = [customer_model(), order_model(("link", link(null=True)), ("virtual", NoColumnField()))]
CHANGES = [
    migrations.AlterField("order", "link", link()),  # was SO109 set-not-null
    migrations.AlterField("order", "link", link(unique=True)),  # was SO203, SO209
    migrations.AlterField("order", "link", link(db_index=True)),  # was SO201
    migrations.AddField("order", "other_link", link(null=True, unique=True)),
    migrations.RenameField("order", "virtual", "computed"),
    migrations.RemoveField("order", "link"),  # was SO101 drop-column
    migrations.RemoveField("order", "computed"),
]


def test_columnless_field_changes_are_silent():
    assert codes(lint(CHANGES, SETUP, config=Config())) == []


def test_the_same_changes_on_a_column_fire():
    setup = [customer_model(), order_model(("link", models.IntegerField(null=True)))]
    changes = [
        migrations.AlterField("order", "link", models.IntegerField()),
        migrations.RemoveField("order", "link"),
    ]
    assert {"SO101", "SO109"} <= set(codes(lint(changes, setup)))
