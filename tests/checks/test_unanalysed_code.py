from django.db import migrations, models
from lintkit import codes, lint
from models import order_model


def so904(findings):
    return [f for f in findings if f.code == "SO904"]


def add_column(apps, schema_editor):
    table = apps.get_model("shop", "Order")._meta.db_table
    schema_editor.execute(f"ALTER TABLE {table} ADD COLUMN note text")


def drop_by_hand(apps, schema_editor):
    schema_editor.execute("ALTER TABLE shop_order DROP COLUMN legacy")


def index_by_hand(apps, editor):  # the parameter's name does not matter
    editor.execute("CREATE INDEX o_code ON shop_order (code)", None)


def cursor_sql(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("ALTER TABLE shop_order DROP COLUMN legacy")


def copy_codes(apps, schema_editor):
    Order = apps.get_model("shop", "Order")
    Order.objects.update(legacy=models.F("code"))


def test_runpython_running_sql_itself_is_reported():
    op = migrations.RunPython(add_column, migrations.RunPython.noop)
    (f,) = so904(lint([op], setup=[order_model()]))
    assert "RunPython add_column runs SQL itself" in f.message
    assert "schemaops trace shop 0002_change" in f.recipe


def test_runpython_using_the_orm_only_is_not():
    op = migrations.RunPython(copy_codes, migrations.RunPython.noop)
    assert not so904(lint([op], setup=[order_model()]))


def test_do_block_with_dynamic_execute_is_reported_and_its_static_ddl_checked():
    sql = """
    DO $$
    DECLARE t text := 'shop_order';
    BEGIN
        CREATE INDEX order_amount_idx ON shop_order (amount);
        EXECUTE format('ALTER TABLE %I ADD COLUMN x int', t);
    END $$;
    """
    findings = lint([migrations.RunSQL(sql, migrations.RunSQL.noop)], setup=[order_model()])
    (f,) = so904(findings)
    assert "EXECUTE of SQL built at run time" in f.message
    assert "SO201" in codes(findings)  # the CREATE INDEX inside the block


def test_do_block_with_constant_sql_only_is_read_not_reported():
    sql = "DO $$ BEGIN EXECUTE 'ALTER TABLE shop_order ADD COLUMN n int NOT NULL'; END $$"
    findings = lint([migrations.RunSQL(sql, migrations.RunSQL.noop)], setup=[order_model()])
    assert not so904(findings)
    assert "SO107" in codes(findings)  # NOT NULL without DEFAULT, read from the EXECUTE


def test_call_and_other_languages_are_reported():
    call = migrations.RunSQL("CALL archive_orders()", migrations.RunSQL.noop)
    (f,) = so904(lint([call], setup=[order_model()]))
    assert "CALL archive_orders" in f.message
    python = migrations.RunSQL("DO LANGUAGE plpython3u $$ pass $$", migrations.RunSQL.noop)
    (f,) = so904(lint([python], setup=[order_model()]))
    assert "a DO block in plpython3u" in f.message


def test_literal_schema_editor_sql_is_read_by_the_statement_rules():
    """A literal schema_editor.execute("...") is checked like RunSQL, not left to SO904."""
    drop = migrations.RunPython(drop_by_hand, migrations.RunPython.noop)
    found = codes(lint([drop], setup=[order_model()]))
    assert "SO101" in found and "SO904" not in found
    index = migrations.RunPython(index_by_hand, migrations.RunPython.noop)
    found = codes(lint([index], setup=[order_model()]))
    assert "SO201" in found and "SO904" not in found


def test_built_or_cursor_sql_stays_unanalysed():
    for func in (add_column, cursor_sql):
        findings = lint(
            [migrations.RunPython(func, migrations.RunPython.noop)], setup=[order_model()]
        )
        assert so904(findings) and "SO101" not in codes(findings)


def test_executed_sql_reads_literals_only():
    from schemaops.pycode import executed_sql

    assert executed_sql(drop_by_hand) == (["ALTER TABLE shop_order DROP COLUMN legacy"], 0)
    assert executed_sql(index_by_hand) == (["CREATE INDEX o_code ON shop_order (code)"], 0)
    assert executed_sql(add_column) == ([], 1)
    assert executed_sql(cursor_sql) == ([], 1)
    assert executed_sql(copy_codes) == ([], 0)


def sqlite_only(apps, schema_editor):  # as Wagtail's 0070 does
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("PRAGMA legacy_alter_table = OFF")


def per_vendor(apps, schema_editor):
    if schema_editor.connection.vendor in ("mysql", "oracle"):
        schema_editor.execute("ALTER TABLE shop_order DROP COLUMN code")
    elif schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE shop_order DROP COLUMN legacy")
    else:
        schema_editor.execute("PRAGMA foreign_keys = OFF")
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE INDEX o_code ON shop_order (code)")


def pragma_everywhere(apps, schema_editor):
    schema_editor.execute("PRAGMA legacy_alter_table = OFF")


def test_sql_under_a_vendor_check_postgresql_fails_is_not_read():
    from schemaops.pycode import executed_sql

    assert executed_sql(sqlite_only) == ([], 0)
    assert executed_sql(per_vendor) == (
        ["ALTER TABLE shop_order DROP COLUMN legacy", "CREATE INDEX o_code ON shop_order (code)"],
        0,
    )
    guarded = migrations.RunPython(sqlite_only, migrations.RunPython.noop)
    assert lint([guarded], setup=[order_model()]) == []
    unguarded = migrations.RunPython(pragma_everywhere, migrations.RunPython.noop)
    assert "SO901" in codes(lint([unguarded], setup=[order_model()]))  # PostgreSQL runs it
    found = codes(
        lint([migrations.RunPython(per_vendor, migrations.RunPython.noop)], setup=[order_model()])
    )
    assert {"SO101", "SO201"} <= set(found) and "SO901" not in found
