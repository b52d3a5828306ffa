from django.db import migrations, models
from lintkit import codes, lint


def legacy():
    return migrations.CreateModel(
        "Legacy",
        [("id", models.BigAutoField(primary_key=True)), ("code", models.CharField(max_length=9))],
    )


def so217(findings):
    return [f for f in findings if f.code == "SO217"]


def test_add_primary_key_in_sql_fires_with_using_index_recipe():
    sql = "ALTER TABLE shop_legacy ADD CONSTRAINT legacy_pk PRIMARY KEY (code)"
    f = so217(lint([migrations.RunSQL(sql)], setup=[legacy()]))[0]
    assert "shop_legacy" in f.message and "(code)" in f.message
    assert (
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS legacy_pk ON shop_legacy (code)" in f.recipe
    )
    assert "ADD CONSTRAINT legacy_pk PRIMARY KEY USING INDEX legacy_pk" in f.recipe


def test_using_index_and_new_table_are_safe():
    sql = "ALTER TABLE shop_legacy ADD CONSTRAINT legacy_pk PRIMARY KEY USING INDEX legacy_pk"
    assert "SO217" not in codes(lint([migrations.RunSQL(sql)], setup=[legacy()]))
    create = "CREATE TABLE t (a int); ALTER TABLE t ADD PRIMARY KEY (a)"
    assert "SO217" not in codes(lint([migrations.RunSQL(create)]))


def test_alter_field_becoming_primary_key_fires():
    ops = [
        migrations.RemoveField("legacy", "id"),
        migrations.AlterField("legacy", "code", models.CharField(max_length=9, primary_key=True)),
    ]
    f = so217(lint(ops, setup=[legacy()]))[0]
    assert "Legacy.code" in f.message
    assert "PRIMARY KEY USING INDEX" in f.recipe
    compile(f.recipe, "recipe", "exec")
