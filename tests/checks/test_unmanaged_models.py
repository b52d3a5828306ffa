"""Operations on models Django does not migrate run no SQL, so no rule fires on them."""

from django.db import migrations, models
from django.test import override_settings
from lintkit import codes, lint

from schemaops.config import Config


def legacy_model(**options):
    return migrations.CreateModel(
        "Legacy",
        [
            ("id", models.BigAutoField(primary_key=True)),
            ("code", models.CharField(max_length=20)),
            ("old", models.CharField(max_length=20, null=True)),
        ],
        options=options,
    )


CHANGES = [
    migrations.AddField("legacy", "note", models.TextField(default="")),
    migrations.RemoveField("legacy", "old"),
    migrations.AddIndex("legacy", models.Index(fields=["code"], name="legacy_code_idx")),
    migrations.AlterField("legacy", "code", models.IntegerField()),
    migrations.RenameField("legacy", "code", "ref"),
    migrations.AlterModelTable("legacy", "legacy_things"),
]


def test_unmanaged_model_changes_are_silent():
    found = lint([*CHANGES, migrations.DeleteModel("legacy")], [legacy_model(managed=False)])
    assert codes(found) == []


def test_unmanaged_model_takes_no_lock_for_the_timeout_rules():
    found = lint(CHANGES, [legacy_model(managed=False)], config=Config())
    assert codes(found) == []


def test_the_same_changes_on_a_managed_model_fire():
    found = codes(lint([*CHANGES, migrations.DeleteModel("legacy")], [legacy_model()]))
    assert {"SO101", "SO102", "SO103", "SO104", "SO201", "SO206"} <= set(found)


def test_swapped_model_is_not_migrated():
    setup = [legacy_model(swappable="SHOP_LEGACY_MODEL")]
    remove = [migrations.RemoveField("legacy", "old")]
    with override_settings(SHOP_LEGACY_MODEL="other.Legacy"):
        assert codes(lint(remove, setup)) == []
    with override_settings(SHOP_LEGACY_MODEL="shop.Legacy"):
        assert "SO101" in codes(lint(remove, setup))
