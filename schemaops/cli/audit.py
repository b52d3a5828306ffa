"""``schemaops audit``: a DBA audit of a live database, missing indexes first."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from schemaops.cli import _options as opts

EPILOG = """\b
Examples:
  cd sample_project && schemaops audit            # the Django project's database
  schemaops audit --settings shop.settings --database default --format markdown
  schemaops audit --dsn postgresql://app@db.internal/shop --check AU101 --check AU104
  PGHOST=db PGDATABASE=shop schemaops audit --format sarif -o audit.sarif
  schemaops audit --list
"""


@click.command("audit", epilog=EPILOG)
@opts.project
@opts.dsn
@click.option(
    "--check",
    "check_refs",
    multiple=True,
    metavar="CODE",
    help="Run only this check (code or name; repeatable).",
)
@click.option("--list", "list_checks", is_flag=True, help="List the checks and exit.")
@click.option(
    "--no-models", is_flag=True, help="Do not load the Django project even if one is configured."
)
@click.option(
    "--timeout",
    default="30s",
    show_default=True,
    metavar="DURATION",
    help="statement_timeout and lock_timeout of each catalog query.",
)
@click.option("--memory", metavar="SIZE", help="Server RAM for AU401 (e.g. 16GB) when remote.")
@click.option("--cpus", type=click.IntRange(1, 4096), help="Server CPUs for AU401.")
@click.option(
    "--storage", type=click.Choice(["ssd", "nvme", "hdd", "san"]), help="Server storage for AU401."
)
@opts.output_format()
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
@click.option("-v", "--verbose", is_flag=True, help="Show the fixes of info findings too.")
@click.pass_context
def audit_command(ctx: click.Context, **options: Any) -> None:
    """Audit a live PostgreSQL database: indexes, schema, drift from the models, settings.

    Points at the Django project's database (--settings/--database, or the
    [tool.schemaops] settings), or at any database with --dsn or libpq's PG*
    variables (checks that need the models are then skipped). Read-only:
    the connection is opened with default_transaction_read_only.

    Exit status: 0 clean, 1 error findings or a check that failed, 2 usage or
    connection error.
    """
    from schemaops.audit.runner import select

    checks = select(options["check_refs"])
    if options["list_checks"]:
        opts.emit(_listing(checks, options["fmt"]), options["output"])
        return
    ctx.exit(_run(checks, options))


def _run(checks: list[Any], options: dict[str, Any]) -> int:
    from schemaops.audit.runner import run_audit
    from schemaops.db import connection_params
    from schemaops.reporting import Report, exit_code_for, render

    cfg = opts.project_config(options)
    models = None if options["no_models"] else _load_models(cfg)
    params = connection_params(
        dsn=options["dsn"], alias=cfg.database, use_django=models is not None
    )
    result = run_audit(
        params, checks, models=models, timeout=options["timeout"], machine=_machine(options)
    )
    for reason, codes in _by_reason(result.skipped).items():
        what = f"{codes[0]} skipped" if len(codes) == 1 else f"{len(codes)} checks skipped"
        listed = "" if len(codes) == 1 else f" ({', '.join(codes)})"
        click.echo(f"schemaops: note: {what}{listed}: {reason}", err=True)
    for code, notes in result.notes.items():
        for note in notes:
            click.echo(f"schemaops: note: {code}: {note}", err=True)
    for code, reason in result.failed.items():
        click.echo(f"schemaops: error: {code} failed: {reason}", err=True)
    report = Report(
        tool="audit",
        findings=result.findings,
        summary={"target": result.target, "checks": len(checks) - len(result.skipped)},
        rules=_rules(checks),
        json_shape="full",
    )
    opts.emit(render(report, options["fmt"], verbose=options["verbose"]), options["output"])
    return max(exit_code_for(result.findings), 1 if result.failed else 0)


def _by_reason(skipped: dict[str, str]) -> dict[str, list[str]]:
    """Skipped check codes grouped by their reason, so one reason is one line."""
    grouped: dict[str, list[str]] = {}
    for code, reason in skipped.items():
        grouped.setdefault(reason, []).append(code)
    return grouped


def _load_models(cfg: Any) -> Any:
    """The project's models when a Django project is configured, else None."""
    if not (cfg.settings or os.environ.get("DJANGO_SETTINGS_MODULE")):
        return None
    from schemaops.audit._django import Models
    from schemaops.project import setup_django

    setup_django(cfg)
    return Models.load(cfg.database)


def _machine(options: dict[str, Any]) -> dict[str, Any]:
    from schemaops.tune.inputs import parse_memory

    given: dict[str, Any] = {"cpus": options["cpus"], "storage": options["storage"]}
    if options["memory"]:
        given["ram_kb"] = parse_memory(options["memory"])
    return {k: v for k, v in given.items() if v is not None}


def _rules(checks: list[Any]) -> dict[str, Any]:
    from schemaops.reporting import RuleInfo

    return {c.code: RuleInfo(c.code, c.name, c.summary, c.severity) for c in checks}


def _listing(checks: list[Any], fmt: str) -> str:
    rows = [
        {
            "code": c.code,
            "name": c.name,
            "severity": c.severity.label,
            "needs": sorted(c.needs),
            "summary": c.summary,
        }
        for c in checks
    ]
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "markdown":
        lines = ["| code | name | severity | needs | summary |", "|---|---|---|---|---|"]
        lines += [
            f"| {r['code']} | {r['name']} | {r['severity']} | {', '.join(r['needs'])} "
            f"| {r['summary']} |"
            for r in rows
        ]
        return "\n".join(lines)
    width = max(len(r["name"]) for r in rows)
    return "\n".join(
        f"{r['code']}  {r['name']:<{width}}  {r['severity']:<7}  {r['summary']}"
        + (f"  [needs {', '.join(r['needs'])}]" if r["needs"] else "")
        for r in rows
    )
