from django.db import migrations, models
from lintkit import codes, lint
from remedykit import lint_remedy


def legacy_model():
    return migrations.CreateModel(
        "Legacy", [("code", models.CharField(max_length=10, primary_key=True))]
    )


def so211(findings):
    return [f for f in findings if f.code == "SO211"]


def test_add_big_auto_field_fires_with_sequence_recipe():
    op = migrations.AddField("legacy", "number", models.BigAutoField(unique=True, serialize=False))
    findings = so211(lint_remedy([op], setup=[legacy_model()]))
    assert len(findings) == 1
    f = findings[0]
    assert "Legacy.number" in f.message and "shop_legacy" in f.message
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_legacy"')
    assert "CREATE SEQUENCE shop_legacy_number_seq OWNED BY shop_legacy.number" in f.recipe
    assert "SET DEFAULT nextval('shop_legacy_number_seq')" in f.recipe
    assert "schemaops backfill start shop.Legacy" in f.recipe


def test_plain_integer_and_new_table_are_safe():
    plain = migrations.AddField("legacy", "number", models.BigIntegerField(null=True))
    assert "SO211" not in codes(lint([plain], setup=[legacy_model()]))
    op = migrations.AddField("legacy", "number", models.BigAutoField(unique=True, serialize=False))
    assert "SO211" not in codes(lint([legacy_model(), op]))


def test_runsql_serial_and_identity_fire():
    for sql in [
        "ALTER TABLE shop_legacy ADD COLUMN n bigserial",
        "ALTER TABLE shop_legacy ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY",
    ]:
        assert len(so211(lint([migrations.RunSQL(sql)], setup=[legacy_model()]))) == 1
    plain = "ALTER TABLE shop_legacy ADD COLUMN n bigint"
    assert "SO211" not in codes(lint([migrations.RunSQL(plain)], setup=[legacy_model()]))
