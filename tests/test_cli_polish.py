"""#17's last items: -q/--quiet defined once and on every command; backfill in a project
without its app; a schema-qualified db_table through every command."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from support import SAMPLE, create_database, drop_database, run_cli
from tinyproj import migration_source, write_project

from schemaops.cli import COMMANDS, cli
from schemaops.cli import _options as opts
from schemaops.tables import django_quoted, schema_qualified

# -- -q/--quiet ------------------------------------------------------------------------


def _commands() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        if isinstance(command, click.Group):
            for sub in command.commands.values():
                yield f"{name} {sub.name}", sub
        else:
            yield name, command


QUIET_COMMANDS = {
    "check",
    "fix",
    "trace",
    "migrate",
    "audit",
    "tune",
    "backfill start",
    "backfill status",
    "backfill pause",
    "backfill resume",
    "backfill cancel",
    "backfill retry",
}


def test_quiet_is_one_option_with_one_meaning_on_every_command_that_prints_progress() -> None:
    shown = {}
    for name, command in _commands():
        for param in command.params:
            if isinstance(param, click.Option) and "-q" in param.opts:
                shown[name] = (tuple(param.opts), param.help)
    assert set(shown) == QUIET_COMMANDS
    expected = ("-q", "--quiet")
    (help_text,) = {text for _opts, text in shown.values()}  # one help text everywhere
    assert all(names == expected for names, _ in shown.values())
    probe = opts.quiet(lambda quiet: None)
    assert help_text == probe.__click_params__[0].help  # type: ignore[attr-defined]


@pytest.mark.parametrize("quiet", [False, True])
def test_check_quiet_drops_the_note_and_keeps_the_result(tmp_path: Path, quiet: bool) -> None:
    baseline = tmp_path / "baseline.json"
    args = ["check", "--write-baseline", str(baseline)] + (["-q"] if quiet else [])
    result = run_cli(*args, cwd=SAMPLE)
    assert result.returncode == 0, result.stderr
    assert baseline.is_file() and '"SO107"' in baseline.read_text()
    assert ("wrote" in result.stderr) is not quiet
    if quiet:
        assert result.stderr == ""


def test_check_quiet_leaves_the_report_alone() -> None:
    loud = run_cli("check", "--format", "json", cwd=SAMPLE)
    quiet = run_cli("check", "--format", "json", "-q", cwd=SAMPLE)
    assert loud.returncode == quiet.returncode == 1
    assert loud.stdout == quiet.stdout


# -- backfill without its app -----------------------------------------------------------

BACKFILL_ARGS = [
    ["status"],
    ["status", "1", "--format", "json"],
    ["pause", "1"],
    ["resume", "1"],
    ["cancel", "1"],
    ["retry", "1"],
    ["start", "shop.Order", "--set", "x = 1", "--dry-run"],
]


@pytest.mark.parametrize("args", BACKFILL_ARGS, ids=lambda a: " ".join(a[:2]))
def test_backfill_without_its_app_says_what_to_add(tmp_path: Path, args: list[str]) -> None:
    project = write_project(tmp_path, {}, dbname="schemaops_no_such_db_here")
    result = run_cli("backfill", *args, cwd=project)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "add 'schemaops.backfill' to INSTALLED_APPS" in lines[0]
    assert "internal error" not in lines[0] and "Traceback" not in result.stderr


def test_backfill_with_its_app_but_unmigrated_says_what_to_run(tmp_path: Path) -> None:
    name = f"schemaops_t_{uuid.uuid4().hex[:10]}"
    create_database(name)
    try:
        project = write_project(tmp_path, {}, dbname=name)
        settings = project / "tinyproj_settings.py"
        settings.write_text(
            settings.read_text().replace('"shop"]', '"shop", "schemaops.backfill"]')
        )
        for args in (["status"], ["pause", "1"]):
            result = run_cli("backfill", *args, cwd=project)
            assert result.returncode == 2, result.stderr
            assert "migrate schemaops_backfill" in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1
    finally:
        drop_database(name)


# -- schema-qualified db_table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("db_table", "quoted", "qualified"),
    [
        ('"billing"."invoice"', '"billing"."invoice"', True),
        ('billing"."invoice', '"billing"."invoice"', True),  # Django's quoting completes it
        ("billing.invoice", '"billing.invoice"', False),  # a dot in a table's name
        ("shop_order", '"shop_order"', False),
        ("Order", '"Order"', False),
    ],
)
def test_db_table_is_read_as_django_quotes_it(db_table: str, quoted: str, qualified: bool) -> None:
    assert django_quoted(db_table) == quoted
    assert schema_qualified(db_table) is qualified


@pytest.mark.parametrize(
    ("db_table", "label"),
    [
        ('"billing"."invoice"', "billing.invoice"),
        ('billing"."invoice', "billing.invoice"),
        ('"public"."invoice"', "invoice"),
        ("billing.invoice", "billing.invoice"),  # a public table with a dot in its name
        ("shop_order", "shop_order"),
    ],
)
def test_a_rules_lock_claim_names_the_table_as_the_trace_does(db_table: str, label: str) -> None:
    from schemaops.locks import Lock
    from schemaops.trace.merge import parse_claim

    assert parse_claim(Lock.SHARE.on(db_table)) == (Lock.SHARE, label)
    assert parse_claim(Lock.SHARE.on(db_table, "for the whole build")) == (Lock.SHARE, label)


MODELS = """from django.db import models


class Invoice(models.Model):
    number = models.CharField(max_length=20)
    total = models.IntegerField(default=0)

    class Meta:
        db_table = '"billing"."invoice"'


class Refund(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE)
    amount = models.IntegerField(default=0)

    class Meta:
        db_table = 'billing"."refund'


class Payment(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE)
    paid = models.IntegerField(default=0)

    class Meta:
        db_table = "billing.payment"


class Mixed(models.Model):
    n = models.IntegerField(default=0)

    class Meta:
        db_table = "MixedCase"
"""

ID = '("id", models.BigAutoField(primary_key=True))'
FK = '("invoice", models.ForeignKey(on_delete=models.CASCADE, to="shop.invoice"))'
INITIAL = f"""
        migrations.RunSQL("CREATE SCHEMA IF NOT EXISTS billing", "DROP SCHEMA billing CASCADE"),
        migrations.CreateModel("Invoice", [{ID}, ("number", models.CharField(max_length=20))],
            options={{"db_table": '"billing"."invoice"'}}),
        migrations.CreateModel("Refund", [{ID}, {FK}], options={{"db_table": 'billing"."refund'}}),
        migrations.CreateModel("Payment", [{ID}, {FK}], options={{"db_table": "billing.payment"}}),
        migrations.CreateModel("Mixed", [{ID}], options={{"db_table": "MixedCase"}}),
"""
CHANGES = """
        migrations.AddField("invoice", "total", models.IntegerField(default=0)),
        migrations.AddField("refund", "amount", models.IntegerField(default=0)),
        migrations.AddField("payment", "paid", models.IntegerField(default=0)),
        migrations.AddField("mixed", "n", models.IntegerField(default=0)),
        migrations.AddIndex("invoice", models.Index(fields=["number"], name="invoice_number_idx")),
"""


@pytest.fixture
def billing(tmp_path: Path) -> Iterator[Path]:
    """A project whose models live on schema-qualified and oddly named tables."""
    name = f"schemaops_t_{uuid.uuid4().hex[:10]}"
    create_database(name)
    project = write_project(
        tmp_path,
        {
            "0001_initial": migration_source(INITIAL),
            "0002_changes": migration_source(CHANGES, '("shop", "0001_initial")'),
        },
        dbname=name,
    )
    (project / "shop" / "models.py").write_text(MODELS)
    settings = project / "tinyproj_settings.py"
    settings.write_text(settings.read_text().replace('"shop"]', '"shop", "schemaops.backfill"]'))
    try:
        yield project
    finally:
        drop_database(name)


def _clean(result) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode in (0, 1, 2)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_every_command_reads_a_schema_qualified_db_table(billing: Path) -> None:
    check = run_cli("check", "--format", "json", cwd=billing)
    _clean(check)
    assert check.returncode == 1
    so107 = [f["message"] for f in json.loads(check.stdout)["findings"] if f["code"] == "SO107"]
    for table in ('"billing"."invoice"', 'billing"."refund', "billing.payment", "MixedCase"):
        assert any(m.startswith(f"AddField {table}.") for m in so107), (table, so107)

    traced = run_cli("check", "--trace", "--summary", cwd=billing)
    _clean(traced)
    assert traced.returncode == 1 and "observed no lock" not in traced.stdout
    assert 'on ""' not in traced.stdout  # every claim is held against the right table

    trace = run_cli("trace", "--rows", "5", "-q", cwd=billing)
    _clean(trace)
    assert trace.returncode == 0, trace.stderr
    for seeded in ('"billing"."invoice" 5', 'billing"."refund 5', "billing.payment 5"):
        assert seeded in trace.stdout
    assert "MixedCase 5" in trace.stdout

    fix = run_cli("fix", "--dry-run", cwd=billing)
    _clean(fix)
    assert fix.returncode == 0, fix.stderr
    assert "ALTER TABLE billing.invoice ADD COLUMN total" in fix.stdout
    assert "ALTER TABLE billing.refund ADD COLUMN amount" in fix.stdout
    assert 'ALTER TABLE "billing.payment" ADD COLUMN paid' in fix.stdout
    assert 'ALTER TABLE "MixedCase" ADD COLUMN n' in fix.stdout

    plan = run_cli("migrate", "--plan", cwd=billing)
    _clean(plan)
    migrate = run_cli("migrate", "--allow", "shop.0002_changes", "-q", cwd=billing)
    _clean(migrate)
    assert migrate.returncode == 0, migrate.stderr

    audit = run_cli("audit", "--format", "json", cwd=billing)
    _clean(audit)
    assert '"AU301"' not in audit.stdout  # the tables exist: no false "missing"
    assert "explicit schema not compared" in audit.stderr
    assert '"billing"."invoice", billing"."refund' in audit.stderr

    status = run_cli("backfill", "status", cwd=billing)
    assert status.returncode == 0 and "no backfill runs" in status.stdout
    refused = run_cli(
        "backfill", "start", "shop.Invoice", "--set", "total = 1", "--dry-run", cwd=billing
    )
    _clean(refused)
    assert refused.returncode == 2
    assert "explicit schema" in refused.stderr and len(refused.stderr.splitlines()) == 1
    plain = run_cli(
        "backfill", "start", "shop.Payment", "--set", "paid = 1", "--dry-run", cwd=billing
    )
    assert plain.returncode == 0, plain.stderr  # a dot in a plain table's name is fine
    assert "dry run of shop.Payment" in plain.stdout
