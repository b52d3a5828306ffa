"""schemaops inside a Django project: ``manage.py schemaops``, system checks, both drivers.

Every test runs the demo shop for real: ``manage.py`` in a subprocess, against
a database of its own on the local PostgreSQL server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from support import PG, ROOT, SAMPLE, create_database, drop_database, run_cli

SETTINGS_DIR = ROOT / "tests/data/djangoproj"


def manage(
    *args: str, db: str | None = None, settings: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    if db:
        env["SHOP_DB_NAME"] = db
    extra = ["--pythonpath", str(SETTINGS_DIR), "--settings", settings] if settings else []
    return subprocess.run(
        [sys.executable, "manage.py", *args, *extra],
        cwd=SAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def own_db() -> Iterator[str]:
    name = f"schemaops_dj_{uuid.uuid4().hex[:10]}"
    create_database(name)
    try:
        yield name
    finally:
        drop_database(name)


# -- manage.py schemaops ----------------------------------------------------------------


def test_manage_py_schemaops_check_equals_the_console_script() -> None:
    via_django = manage("schemaops", "check", "--format", "json")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    script = Path(sys.executable).parent / "schemaops"  # the installed console script
    console = subprocess.run(
        [str(script), "check", "--format", "json"],
        cwd=SAMPLE,
        env=env,
        capture_output=True,
        text=True,
    )
    module = run_cli("check", "--format", "json")  # python -m schemaops
    assert via_django.returncode == console.returncode == module.returncode == 1
    assert via_django.stdout == console.stdout == module.stdout
    assert json.loads(via_django.stdout)["findings"]
    assert via_django.stderr == console.stderr == ""


def test_manage_py_schemaops_passes_every_argument_and_exit_status() -> None:
    text = manage("schemaops", "check", "orders", "0005", "--select", "SO101")
    assert text.returncode == 1 and "SO101 drop-column" in text.stdout
    assert text.stdout.rstrip().endswith("migrations: 1, 1 error(s), 0 warning(s)")
    clean = manage("schemaops", "check", "orders", "0006", "--select", "SO101")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    bad = manage("schemaops", "explain", "SO000")
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "schemaops: error: unknown rule 'SO000' (see `schemaops rules`)"
    ]
    helped = manage("schemaops", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("Usage: manage.py schemaops")
    assert "Example" in manage("help", "schemaops").stdout


def test_call_command_runs_the_group_and_raises_on_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from django.core.management import CommandError, call_command

    monkeypatch.chdir(SAMPLE)
    call_command("schemaops", "rules", "--format", "json")
    codes = {rule["code"] for rule in json.loads(capsys.readouterr().out)}
    assert {"SO101", "SO201"} <= codes
    with pytest.raises(CommandError) as failed:
        call_command("schemaops", "check", "orders", "0005", "--select", "SO101")
    assert failed.value.returncode == 1
    assert "SO101" in capsys.readouterr().out


def test_setup_django_reuses_the_running_project(monkeypatch: pytest.MonkeyPatch) -> None:
    import django

    from schemaops.config import Config
    from schemaops.project import setup_django

    def no_second_setup(*args: object, **kwargs: object) -> None:
        raise AssertionError("django.setup() ran again")

    monkeypatch.setattr(django, "setup", no_second_setup)
    assert setup_django(Config()) == "shop.settings"
    assert setup_django(Config(settings="shop.settings")) == "shop.settings"


# -- system checks ------------------------------------------------------------------------


def test_system_checks_are_off_unless_asked_for() -> None:
    result = manage("check")
    assert result.returncode == 0
    assert "schemaops." not in result.stdout + result.stderr


def test_plain_check_leaves_migrations_to_the_database_checks() -> None:
    """Without --database Django skips database checks: no findings, nothing blocks runserver."""
    result = manage("check", settings="syschecks_settings")
    assert result.returncode == 0, result.stderr
    assert "schemaops." not in result.stdout + result.stderr


def test_backfill_without_the_backfill_app_is_an_error() -> None:
    result = manage("check", settings="orphan_settings")
    assert result.returncode == 1
    assert "(schemaops.E003) orphan_backfills.backfills.FillNothing is a Backfill" in result.stderr


def test_database_checks_report_only_unapplied_migrations_and_stop_migrate(own_db: str) -> None:
    assert manage("migrate", "-v0", db=own_db).returncode == 0
    # the database has everything but orders.0005 and later
    assert manage("migrate", "orders", "0004", "--fake", "-v0", db=own_db).returncode == 0

    checked = manage("check", "--database", "default", db=own_db, settings="syschecks_settings")
    assert checked.returncode == 1
    assert "orders.0005_remove_order_legacy_ref operation 0: (schemaops.E001) SO101" in (
        checked.stderr
    )
    assert "products.0002" not in checked.stderr  # applied: its SO201 no longer matters
    assert "Not applied on 'default'" in checked.stderr

    refused = manage("migrate", db=own_db, settings="syschecks_settings")
    assert refused.returncode == 1
    assert "SystemCheckError" in refused.stderr and "schemaops.E001" in refused.stderr
    with psycopg2.connect(**{**PG, "dbname": own_db}) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM django_migrations WHERE app = 'orders' AND name >= '0005'"
        )
        assert cur.fetchone() == (0,)
    conn.close()


def test_unreachable_database_is_a_warning() -> None:
    missing = f"schemaops_missing_{uuid.uuid4().hex[:8]}"
    result = manage("check", "--database", "default", db=missing, settings="syschecks_settings")
    assert result.returncode == 0
    out = result.stdout + result.stderr
    assert "(schemaops.W002) schemaops: cannot read applied migrations from 'default'" in out
    assert "schemaops.E001" not in out


# -- both drivers -------------------------------------------------------------------------

DRIVER_PROBE = textwrap.dedent(
    """
    import json, os, sys
    if sys.argv[1] == "psycopg2":
        sys.modules["psycopg"] = None  # as in a project that only installed psycopg2
    import django
    django.setup()
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import is_psycopg3
    from customers.models import Customer
    from orders.models import Order

    from django.db import transaction
    with transaction.atomic():  # rolled back: the session's shop database is a template
        customer = Customer.objects.create(email=f"{sys.argv[1]}@example.com", name="Driver")
        Order.objects.create(customer=customer, status="paid", total=12)
        found = Order.objects.filter(customer__email=customer.email, status="paid").count()
        transaction.set_rollback(True)
    print(json.dumps({
        "psycopg3": is_psycopg3,
        "module": type(connection.connection).__module__,
        "orders": found,
        "server": connection.pg_version,
    }))
    sys.stdout.flush()
    from schemaops.cli import main
    main(["check", "--database", "default", "--unapplied", "--format", "json"])
    """
)


@pytest.mark.parametrize("driver", ["psycopg2", "psycopg"])
def test_demo_shop_and_check_work_with_each_driver(shop_db: str, driver: str) -> None:
    """psycopg2 runs in both passes; psycopg 3 where installed (the Python 3.12 pass)."""
    if driver == "psycopg" and importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg 3 is not installed in this virtualenv (.venv312 covers it)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "SHOP_DB_NAME": shop_db}
    result = subprocess.run(
        [sys.executable, "-c", DRIVER_PROBE, driver],
        cwd=SAMPLE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr  # every migration applied: nothing to report
    probe_line, report = result.stdout.split("\n", 1)
    probe = json.loads(probe_line)
    assert probe["psycopg3"] is (driver == "psycopg")
    assert probe["module"].split(".")[0] == driver
    assert probe["orders"] == 1 and probe["server"] >= 120000
    payload = json.loads(report)
    assert payload["summary"]["migrations"] == 0 and payload["findings"] == []


def test_driver_in_use_by_this_test_run() -> None:
    """Django prefers psycopg 3 when it is installed, else psycopg2: check which one runs here."""
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    assert is_psycopg3 is (importlib.util.find_spec("psycopg") is not None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    expected = "psycopg" if is_psycopg3 else "psycopg2"
    assert type(connection.connection).__module__.split(".")[0] == expected
