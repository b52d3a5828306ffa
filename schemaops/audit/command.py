"""The body of ``schemaops audit``: load the project (if any), run the checks, render.

:mod:`schemaops.cli.audit` only turns the command line into an :class:`AuditOptions`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from schemaops.config import Config, ProjectOptions, project_config
from schemaops.reporting import OutputFormat, emit

if TYPE_CHECKING:
    from schemaops.audit._base import Check
    from schemaops.audit._django import Models
    from schemaops.reporting import RuleInfo


@dataclass(frozen=True)
class AuditOptions:
    """Everything ``schemaops audit`` takes; empty and None mean "not given"."""

    project: ProjectOptions = field(default_factory=ProjectOptions)
    dsn: str | None = None
    check_refs: tuple[str, ...] = ()  # codes or names; none: every check
    list_checks: bool = False
    no_models: bool = False
    timeout: str = "30s"  # statement_timeout and lock_timeout of each catalog query
    memory: str | None = None  # server RAM for AU401, e.g. "16GB"
    cpus: int | None = None
    storage: str | None = None
    fmt: OutputFormat = OutputFormat.TEXT
    output: str | None = None
    verbose: bool = False


def run_audit_command(options: AuditOptions) -> int:
    """List the checks, or audit the database and print the report; returns the exit status."""
    from schemaops.audit.runner import select

    checks = select(options.check_refs)
    if options.list_checks:
        emit(_listing(checks, options.fmt), options.output)
        return 0
    return _run(checks, options)


def _run(checks: list[Check], options: AuditOptions) -> int:
    from schemaops.audit.runner import run_audit
    from schemaops.db import connection_params
    from schemaops.reporting import Report, exit_code_for, render

    cfg = project_config(options.project)
    models = None if options.no_models else _load_models(cfg)
    params = connection_params(dsn=options.dsn, alias=cfg.database, use_django=models is not None)
    result = run_audit(
        params, checks, models=models, timeout=options.timeout, machine=_machine(options)
    )
    for code, reason in result.skipped.items():
        click.echo(f"schemaops: note: {code} skipped: {reason}", err=True)
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
    emit(render(report, options.fmt, verbose=options.verbose), options.output)
    return max(exit_code_for(result.findings), 1 if result.failed else 0)


def _load_models(cfg: Config) -> Models | None:
    """The project's models when a Django project is configured, else None."""
    if not (cfg.settings or os.environ.get("DJANGO_SETTINGS_MODULE")):
        return None
    from schemaops.audit._django import Models
    from schemaops.project import setup_django

    setup_django(cfg)
    return Models.load(cfg.database)


def _machine(options: AuditOptions) -> dict[str, Any]:
    from schemaops.tune.inputs import parse_memory

    given: dict[str, Any] = {"cpus": options.cpus, "storage": options.storage}
    if options.memory:
        given["ram_kb"] = parse_memory(options.memory)
    return {k: v for k, v in given.items() if v is not None}


def _rules(checks: list[Check]) -> dict[str, RuleInfo]:
    from schemaops.reporting import RuleInfo

    return {c.code: RuleInfo(c.code, c.name, c.summary, c.severity) for c in checks}


def _listing(checks: list[Check], fmt: OutputFormat) -> str:
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
    if fmt == OutputFormat.JSON:
        return json.dumps(rows, indent=2)
    if fmt == OutputFormat.MARKDOWN:
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
