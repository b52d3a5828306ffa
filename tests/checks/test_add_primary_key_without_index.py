from django.db import migrations, models
from lintkit import codes, lint
from models import recipe_sql
from remedykit import lint_remedy, lint_remedy_chain, remedies_of, remedy_migrations, spec_sql


def legacy():
    return migrations.CreateModel(
        "Legacy",
        [("id", models.BigAutoField(primary_key=True)), ("code", models.CharField(max_length=9))],
    )


def so217(findings):
    return [f for f in findings if f.code == "SO217"]


def test_add_primary_key_in_sql_fires_with_using_index_recipe():
    sql = "ALTER TABLE shop_legacy ADD CONSTRAINT legacy_pk PRIMARY KEY (code)"
    f = so217(lint_remedy([migrations.RunSQL(sql)], setup=[legacy()]))[0]
    assert "shop_legacy" in f.message and "(code)" in f.message
    (_, build), (_, attach) = remedy_migrations(f.recipe)
    assert build.atomic is False
    assert (
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS legacy_pk ON shop_legacy (code)"
        in recipe_sql(build)
    )
    assert recipe_sql(attach)[-1] == (
        "ALTER TABLE shop_legacy ADD CONSTRAINT legacy_pk PRIMARY KEY USING INDEX legacy_pk"
    )
    assert "ALTER TABLE shop_legacy ALTER COLUMN code SET NOT NULL" in recipe_sql(attach)
    chain = {x.code for x in lint_remedy_chain(f.recipe, [legacy()])}
    assert "SO217" not in chain and "SO109" not in chain  # NOT NULL proved by the check


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
    f = so217(lint_remedy(ops, setup=[legacy()]))[0]
    assert "Legacy.code" in f.message
    assert "unique index CONCURRENTLY" in f.recipe and "schemaops fix" in f.recipe
    build, attach = remedies_of(ops, [legacy()])[1].steps  # too long to show: the plan itself
    assert build.atomic is False and "CREATE UNIQUE INDEX CONCURRENTLY" in spec_sql(build)[1]
    assert "PRIMARY KEY USING INDEX" in spec_sql(attach)[-1]
