from django.db import migrations, models
from lintkit import codes, lint


def event_model(pk_field):
    return migrations.CreateModel(
        "Event", [("id", pk_field), ("name", models.CharField(max_length=20))]
    )


def test_auto_field_primary_key_fires_with_big_auto_field_recipe():
    pk = models.AutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")
    findings = [f for f in lint([event_model(pk)]) if f.code == "SO603"]
    assert len(findings) == 1
    f = findings[0]
    assert "shop_event.id" in f.message and "2,147,483,647" in f.message
    assert '("id", models.BigAutoField(' in f.recipe
    assert "auto_created=True" in f.recipe and "primary_key=True" in f.recipe
    assert 'DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"' in f.recipe


def test_small_auto_field_fires():
    findings = lint([event_model(models.SmallAutoField(primary_key=True))])
    assert any(f.code == "SO603" and "32,767" in f.message for f in findings)


def test_big_auto_field_is_safe():
    assert "SO603" not in codes(lint([event_model(models.BigAutoField(primary_key=True))]))


def test_serial_primary_key_in_sql_fires_and_bigserial_does_not():
    bad = lint([migrations.RunSQL("CREATE TABLE ev (id serial PRIMARY KEY, n integer)")])
    table_pk = lint([migrations.RunSQL("CREATE TABLE ev (id integer, PRIMARY KEY (id))")])
    good = lint([migrations.RunSQL("CREATE TABLE ev (id bigserial PRIMARY KEY, n integer)")])
    finding = next(f for f in bad if f.code == "SO603")
    assert "ev.id serial" in finding.message
    assert "id bigserial PRIMARY KEY, n integer" in finding.recipe  # only the key widens
    assert "SO603" in codes(table_pk)
    assert "SO603" not in codes(good)
