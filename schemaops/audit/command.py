"""The body of ``schemaops audit``: load the project (if any), run the checks, render.

:mod:`schemaops.cli.audit` only turns the command line into an :class:`AuditOptions`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from schemaops import defaults
from schemaops._gc import gc_paused
from schemaops.config import Config, ProjectOptions, project_config
from schemaops.reporting import FailOn, OutputFormat, emit

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
    schemas: tuple[str, ...] = ()  # shell patterns of the schemas to audit; none: all
    exclude_schemas: tuple[str, ...] = ()  # shell patterns of schemas to leave out
    list_checks: bool = False
    no_models: bool = False
    timeout: str = defaults.AUDIT_TIMEOUT  # statement and lock timeout of each catalog query
    memory: str | None = None  # server RAM for AU401, e.g. "16GB"
    cpus: int | None = None
    storage: str | None = None
    fmt: OutputFormat = OutputFormat.TEXT
    output: str | None = None
    verbose: bool = False
    ignore: tuple[str, ...] = ()  # check codes or names left out
    baseline: str | None = None  # findings recorded there are not reported
    write_baseline: str | None = None  # record every current finding there and exit 0
    fail_on: FailOn = FailOn.ERROR
    quiet: bool = False  # -q: no progress bar or notes on stderr (skipped checks, ...)


def run_audit_command(options: AuditOptions) -> int:
    """List the checks, or audit the database and print the report; returns the exit status."""
    from schemaops.audit.runner import select

    ignored = {c.code for c in select(options.ignore)} if options.ignore else set()
    checks = [c for c in select(options.check_refs) if c.code not in ignored]
    if options.list_checks:
        emit(_listing(checks, options.fmt), options.output)
        return 0
    return _run(checks, options)


def _run(checks: list[Check], options: AuditOptions) -> int:
    from schemaops.audit.progress import audit_progress
    from schemaops.audit.runner import run_audit
    from schemaops.db import connection_params
    from schemaops.linter import load_baseline, write_baseline
    from schemaops.reporting import Report, exit_code_for, render

    cfg = project_config(options.project)
    models = None if options.no_models else _load_models(cfg)
    params = connection_params(dsn=options.dsn, alias=cfg.database, use_django=models is not None)
    result = run_audit(
        params,
        checks,
        models=models,
        timeout=options.timeout,
        machine=_machine(options),
        schemas=options.schemas,
        exclude_schemas=options.exclude_schemas,
        progress=None if options.quiet else audit_progress(options.fmt, len(checks)),
    )
    if not options.quiet:
        _notes(result)
    for code, reason in result.failed.items():
        click.echo(f"schemaops: error: {code} failed: {reason}", err=True)
    if options.write_baseline:
        count = write_baseline(options.write_baseline, result.findings)
        if not options.quiet:
            click.echo(f"schemaops: wrote {count} finding(s) to {options.write_baseline}", err=True)
        return 0
    findings, baselined = result.findings, 0
    if options.baseline:
        known = load_baseline(options.baseline)
        findings = [f for f in result.findings if f.fingerprint not in known]
        baselined = len(result.findings) - len(findings)
    summary: dict[str, Any] = {
        "target": result.target,
        "checks": len(checks) - len(result.skipped),
        "schemas": len(result.schemas),
    }
    if baselined:
        summary["baselined"] = baselined
    report = Report("audit", findings, summary, rules=_rules(checks), json_shape="full")
    with gc_paused(freeze=True):  # tens of thousands of findings, all alive until exit
        emit(render(report, options.fmt, verbose=options.verbose), options.output)
    return max(exit_code_for(findings, options.fail_on), 1 if result.failed else 0)


def _notes(result: Any) -> None:
    """Skipped checks (one line per reason) and what a check could not see, on stderr."""
    for reason, codes in _by_reason(result.skipped).items():
        what = f"{codes[0]} skipped" if len(codes) == 1 else f"{len(codes)} checks skipped"
        listed = "" if len(codes) == 1 else f" ({', '.join(codes)})"
        click.echo(f"schemaops: note: {what}{listed}: {reason}", err=True)
    for code, notes in result.notes.items():
        for note in notes:
            click.echo(f"schemaops: note: {code}: {note}", err=True)


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


def _by_reason(skipped: dict[str, str]) -> dict[str, list[str]]:
    """Skipped check codes grouped by their reason, so one reason is one line."""
    grouped: dict[str, list[str]] = {}
    for code, reason in skipped.items():
        grouped.setdefault(reason, []).append(code)
    return grouped
