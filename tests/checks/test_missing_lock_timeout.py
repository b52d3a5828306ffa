from django.db import migrations, models
from lintkit import lint
from models import customer_model, order_model

from schemaops.config import Config

ADD_NOTE = migrations.AddField("order", "note", models.TextField(null=True))
SET_LOCAL = migrations.RunSQL("SET LOCAL lock_timeout = '2s'", migrations.RunSQL.noop)


def so401(ops, setup=None, **kw):
    kw.setdefault("config", Config())
    return [f for f in lint(ops, setup=setup or [order_model()], **kw) if f.code == "SO401"]


def test_blocking_lock_without_timeout_fires_once_per_migration():
    rename = migrations.RunSQL("ALTER TABLE shop_order RENAME COLUMN legacy TO old")
    [f] = so401([ADD_NOTE, rename])
    assert f.severity.label == "warning"
    assert f.operation == 0  # the first operation that waits without a timeout
    assert "shop.0002_change takes ACCESS EXCLUSIVE on shop_order without lock_timeout" in (
        f.message
    )
    assert f.lock.startswith('ACCESS EXCLUSIVE on "shop_order" (blocks reads')
    assert "migrations.RunSQL(\"SET LOCAL lock_timeout = '5s'\"" in f.recipe
    assert "shop/migrations/0002_change.py" in f.recipe


def test_set_local_lock_timeout_first_is_safe():
    assert so401([SET_LOCAL, ADD_NOTE]) == []
    config_call = migrations.RunSQL("SELECT set_config('lock_timeout', '3s', true)")
    assert so401([config_call, ADD_NOTE]) == []


def test_set_local_in_a_non_atomic_migration_does_not_count():
    [f] = so401([SET_LOCAL, ADD_NOTE], atomic=False)
    assert f.operation == 1
    assert "SET lock_timeout = '5s'" in f.recipe and "SET LOCAL" in f.recipe  # explains why
    session = migrations.RunSQL("SET lock_timeout = '2s'", migrations.RunSQL.noop)
    assert so401([session, ADD_NOTE], atomic=False) == []


def test_timeout_set_too_late_or_switched_off_fires():
    assert len(so401([ADD_NOTE, SET_LOCAL])) == 1
    reset = migrations.RunSQL("SET LOCAL lock_timeout = 0")
    assert len(so401([SET_LOCAL, reset, ADD_NOTE])) == 1


def test_foreign_key_from_a_new_table_locks_the_existing_parent():
    fk = migrations.AddField(
        "customer", "last_order", models.ForeignKey("shop.order", models.CASCADE, null=True)
    )
    [f] = so401([customer_model(), fk])
    assert "SHARE ROW EXCLUSIVE on shop_order" in f.message
    assert "every write on shop_order" in f.message


def test_changes_to_a_table_created_in_the_same_migration_are_safe():
    findings = [f for f in lint([order_model(), ADD_NOTE], config=Config()) if f.code == "SO401"]
    assert findings == []


def test_assume_timeouts_silences_it():
    assert so401([ADD_NOTE], config=Config(assume_timeouts=True)) == []


def test_assume_timeouts_key_in_pyproject_end_to_end(tmp_path):
    from fixtures.lintproj_kit import check, codes, project

    root = project(tmp_path)
    config = root / "pyproject.toml"
    assert "SO401" not in codes(check(root)[1])  # the fixture says assume-timeouts = true
    config.write_text(config.read_text().replace("assume-timeouts = true", ""))
    finding = next(f for f in check(root)[1]["findings"] if f["code"] == "SO401")
    assert (
        "ledger.0002_remove_account_legacy takes ACCESS EXCLUSIVE on ledger_account"
        in (finding["message"])
    )
    config.write_text(config.read_text() + 'assume-timeouts = "yes"\n')
    rc, _, err = check(root)
    assert rc == 2 and "assume-timeouts must be true or false" in err


def test_reset_all_switches_the_timeout_off_and_set_config_session_counts_non_atomic():
    reset_all = migrations.RunSQL("RESET ALL")
    assert len(so401([SET_LOCAL, reset_all, ADD_NOTE])) == 1
    session = migrations.RunSQL("SELECT set_config('lock_timeout', '2s', false)")
    local = migrations.RunSQL("SELECT set_config('lock_timeout', '2s', true)")
    assert so401([session, ADD_NOTE], atomic=False) == []
    assert len(so401([local, ADD_NOTE], atomic=False)) == 1


def test_concurrent_index_build_takes_no_blocking_lock():
    from django.contrib.postgres.operations import AddIndexConcurrently

    index = models.Index(fields=["code"], name="order_code_idx")
    assert so401([AddIndexConcurrently("order", index)], atomic=False) == []


def test_each_table_is_named_with_its_own_lock():
    """A new foreign key: ACCESS EXCLUSIVE on its table, SHARE ROW EXCLUSIVE on the target."""
    op = migrations.AddField(
        "order", "customer", models.ForeignKey("shop.Customer", null=True, on_delete=models.CASCADE)
    )
    (f,) = so401([op], setup=[order_model(), customer_model()])
    assert "takes ACCESS EXCLUSIVE on shop_order and SHARE ROW EXCLUSIVE on shop_customer" in (
        f.message
    )
    assert "every query on shop_order and every write on shop_customer queues" in f.message
    assert f.lock == (
        'ACCESS EXCLUSIVE on "shop_order" (blocks reads, writes and schema changes); '
        'SHARE ROW EXCLUSIVE on "shop_customer" (blocks writes and schema changes; reads go on)'
    )


def test_timeouts_set_by_the_connection_options_count(monkeypatch):
    from django.conf import settings

    options = {"options": "-c lock_timeout=5s -c statement_timeout=10min"}
    monkeypatch.setitem(settings.DATABASES, "with_timeouts", {"OPTIONS": options})
    op = migrations.AlterField("order", "amount", models.BigIntegerField())
    quiet = lint([op], setup=[order_model()], config=Config(database="with_timeouts"))
    assert not {"SO401", "SO402"} & {f.code for f in quiet}
    loud = lint([op], setup=[order_model()], config=Config())
    assert {"SO401", "SO402"} <= {f.code for f in loud}


def test_session_options_parse_like_libpq():
    from schemaops.session import parse_options, sets_timeout

    parsed = parse_options("-c lock_timeout=5s -cstatement_timeout=0 --search-path=a")
    assert parsed == {"lock_timeout": "5s", "statement_timeout": "0", "search_path": "a"}
    assert sets_timeout(parsed, "lock_timeout") and not sets_timeout(parsed, "statement_timeout")
