"""The body of ``schemaops check``, shared by the console script and ``manage.py schemaops``."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from schemaops.cli import _options as opts
from schemaops.errors import ConfigError
from schemaops.findings import Severity
from schemaops.linter import Linter, LintResult, write_baseline
from schemaops.project import setup_django
from schemaops.reporting import Report, RuleInfo, exit_code_for, render
from schemaops.selection import (
    MigrationKey,
    Selection,
    applied_migrations,
    load_graph,
    server_pg_version,
)
from schemaops.stats.estimate import estimate_findings


def split_targets(targets: tuple[str, ...]) -> tuple[str | None, str | None, list[str] | None]:
    """``APP [MIGRATION]`` or migration files: (app, migration, None) or (None, None, files).

    An argument is a file when it ends in ``.py`` or names a folder part, the
    way pre-commit passes the files of a commit.
    """
    is_file = [t.endswith(".py") or "/" in t or os.sep in t for t in targets]
    if any(is_file):
        if not all(is_file):
            raise ConfigError("give either APP [MIGRATION] or migration files, not both")
        missing = [t for t in targets if not os.path.exists(t)]
        if missing:
            raise ConfigError(f"no such file: {missing[0]}")
        return None, None, list(targets)
    if len(targets) > 2:
        raise ConfigError(f"expected APP [MIGRATION], got {len(targets)} arguments")
    app = targets[0] if targets else None
    name = targets[1] if len(targets) > 1 else None
    return app, name, None


def migrations_in_files(loader: Any, paths: list[str]) -> set[MigrationKey]:
    """The migrations of the graph whose module is one of ``paths``; other files are ignored."""
    wanted = {os.path.realpath(p) for p in paths}
    keys = set()
    for key, migration in loader.graph.nodes.items():
        module = sys.modules.get(type(migration).__module__)
        path = getattr(module, "__file__", None)
        if path and os.path.realpath(path) in wanted:
            keys.add(key)
    return keys


def run_check(
    app_label: str | None, migration_name: str | None, paths: list[str] | None = None, **o: Any
) -> int:
    """Lint the selected migrations, print the report, return the exit status.

    ``paths`` (migration files) narrows the selection to those files; a file
    that is no migration of the project is skipped, so pre-commit can pass
    whatever matched its file filter.
    """
    cfg = opts.project_config(
        o,
        "apps",
        "exclude_apps",
        "pg_version",
        "select",
        "ignore",
        "baseline",
        "stats",
        "lock_budget",
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
        target=(app_label, migration_name) if app_label and migration_name else None,
        applied=applied,
    )
    loader = load_graph()
    selected = selection.resolve(loader)
    if paths is not None:
        selected &= migrations_in_files(loader, paths)
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
    estimate_findings(result.findings, cfg, cfg.stats)
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
    from schemaops.docs import rule_help, rule_url

    rules = {
        r.code: RuleInfo(r.code, r.name, r.summary, r.severity, rule_url(r), rule_help(r))
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
