from django.db import migrations, models
from lintkit import codes, lint
from models import TaggableManagerStandIn, order_model, tag_models

from schemaops.checks._set_additive import RULES

OUR_CODES = {rule.code for rule in RULES}


def test_rename_field_fires_with_db_column_recipe():
    findings = lint([migrations.RenameField("order", "code", "reference")], setup=[order_model()])
    findings = [f for f in findings if f.code == "SO103"]
    assert len(findings) == 1
    f = findings[0]
    assert "shop_order.code to reference" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order"')
    assert 'db_column="code"' in f.recipe
    assert "backfill" in f.recipe and "post-deploy" in f.recipe  # the other way, as prose


def test_db_column_recipe_is_itself_clean():
    """The recipe's first option (pin db_column, then rename) changes nothing in the database."""
    ops = [
        migrations.AlterField("order", "code", models.CharField(max_length=20, db_column="code")),
        migrations.RenameField("order", "code", "reference"),
    ]
    assert not set(codes(lint(ops, setup=[order_model()]))) & OUR_CODES


def test_rename_of_field_with_db_column_is_safe():
    setup = [order_model(("ref", models.CharField(max_length=5, db_column="ref_col")))]
    findings = lint([migrations.RenameField("order", "ref", "reference")], setup=setup)
    assert "SO103" not in codes(findings)


def test_rename_field_on_new_table_is_exempt():
    findings = lint([order_model(), migrations.RenameField("order", "code", "reference")])
    assert "SO103" not in codes(findings)


def test_runsql_rename_column_fires_and_rename_table_does_not():
    bad = lint(
        [migrations.RunSQL("ALTER TABLE shop_order RENAME COLUMN code TO reference")],
        setup=[order_model()],
    )
    assert codes(bad).count("SO103") == 1
    other = lint([migrations.RunSQL("ALTER TABLE shop_order RENAME TO x")], setup=[order_model()])
    assert "SO103" not in codes(other)


def test_renaming_a_field_without_a_column_renames_nothing():
    class NoColumnField(models.Field):
        def db_type(self, connection):
            return None

    added = migrations.AddField("order", "virtual", NoColumnField(null=True))
    tags = migrations.AddField("order", "tags", TaggableManagerStandIn())
    renames = [
        migrations.RenameField("order", "virtual", "computed"),
        migrations.RenameField("order", "tags", "labels"),
    ]
    assert "SO103" not in codes(lint(renames, setup=[*tag_models(), order_model(), added, tags]))
