"""The body of ``schemaops check``, shared by the console script and ``manage.py schemaops``."""

from __future__ import annotations

from typing import Any

import click

from schemaops.cli import _options as opts
from schemaops.errors import ConfigError
from schemaops.findings import Severity
from schemaops.linter import Linter, LintResult, write_baseline
from schemaops.project import setup_django
from schemaops.reporting import Report, RuleInfo, exit_code_for, render
from schemaops.selection import Selection, applied_migrations, load_graph, server_pg_version


def run_check(app_label: str | None, migration_name: str | None, **o: Any) -> int:
    cfg = opts.load_config(
        o.get("config_path"),
        settings=o.get("settings"),
        pythonpath=o.get("pythonpath"),
        database=o.get("database"),
        apps=o.get("apps"),
        exclude_apps=o.get("exclude_apps"),
        pg_version=o.get("pg_version"),
        select=o.get("select"),
        ignore=o.get("ignore"),
        baseline=o.get("baseline"),
    )
    setup_django(cfg)
    applied: set[tuple[str, str]] = set()
    pg_version = cfg.pg_version
    if o.get("database") or o.get("unapplied") or o.get("with_trace"):
        applied = applied_migrations(cfg.database)
        if pg_version is None:
            pg_version = server_pg_version(cfg.database) // 10000
    if migration_name and not app_label:
        raise ConfigError("give an app label before the migration name")
    selection = Selection(
        apps=cfg.apps if not app_label else (app_label,),
        exclude_apps=cfg.exclude_apps,
        since=o.get("since"),
        unapplied_only=bool(o.get("unapplied")),
        target=(app_label, migration_name) if migration_name else None,
        applied=applied,
    )
    loader = load_graph()
    selected = selection.resolve(loader)
    linter = Linter(
        loader,
        cfg,
        pg_version=pg_version or 15,
        want_sql=bool(o.get("show_sql")),
        keep_steps=bool(o.get("show_sql")),
        applied=applied,
    )
    result = linter.run(selected)
    if o.get("with_trace"):
        _merge_trace(result, loader, selected, cfg)
    if o.get("write_baseline"):
        count = write_baseline(o["write_baseline"], result.findings)
        click.echo(f"schemaops: wrote {count} finding(s) to {o['write_baseline']}", err=True)
        return 0
    report = build_report(result, linter)
    text = render(report, o.get("fmt") or "text", verbose=bool(o.get("verbose")))
    if o.get("show_sql") and (o.get("fmt") or "text") == "text":
        text = _sql_listing(result) + "\n" + text
    opts.emit(text, o.get("output"))
    return _exit_code(result, o.get("fail_on") or "error")


def build_report(result: LintResult, linter: Linter) -> Report:
    rules = {
        r.code: RuleInfo(
            r.code, r.name, r.summary, r.severity, f"https://schemaops.dev/rules/{r.name}"
        )
        for r in linter.rules
    }
    summary: dict[str, Any] = {"migrations": result.migrations}
    if result.baselined:
        summary["baselined"] = result.baselined
    return Report("check", result.findings, summary, rules)


def _exit_code(result: LintResult, fail_on: str) -> int:
    if fail_on == "never":
        return 0
    if fail_on == "warning":
        return int(
            any(f.severity >= Severity.WARNING and not f.suppressed for f in result.findings)
        )
    return exit_code_for(result.findings)


def _sql_listing(result: LintResult) -> str:
    lines = []
    for step in result.steps:
        lines.append(click.style(f"-- {step.app_label}.{step.name}", bold=True))
        for op in step.operations:
            lines.append(f"--   [{op.index}] {op.operation.describe()}")
            for stmt in op.sql or ():
                lines.append("     " + stmt)
            if op.sql_error:
                lines.append(f"     -- SQL unavailable: {op.sql_error}")
    return "\n".join(lines)


def _merge_trace(result: LintResult, loader: Any, selected: set[tuple[str, str]], cfg: Any) -> None:
    from schemaops.trace.merge import merge_trace

    merge_trace(result, loader, selected, cfg)
