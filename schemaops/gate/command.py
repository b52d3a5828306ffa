"""The body of ``schemaops check`` (the pre-deploy gate): select, lint, render, exit status.

Shared by the console script and ``manage.py schemaops``; :mod:`schemaops.cli.check`
only turns the command line into a :class:`CheckOptions`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from schemaops.config import Config, ProjectOptions, project_config
from schemaops.errors import ConfigError
from schemaops.linter import Linter, LintResult, write_baseline
from schemaops.project import setup_django
from schemaops.remedy.attach import attach_remedies
from schemaops.reporting import (
    FailOn,
    OutputFormat,
    Report,
    RuleInfo,
    emit,
    exit_code_for,
    render,
)
from schemaops.selection import (
    MigrationKey,
    Selection,
    applied_migrations,
    load_graph,
    server_pg_version,
)
from schemaops.stats.estimate import estimate_findings

if TYPE_CHECKING:
    from django.db.migrations.loader import MigrationLoader


@dataclass(frozen=True)
class CheckOptions:
    """Everything ``schemaops check`` takes; empty and None mean "not given"."""

    project: ProjectOptions = field(default_factory=ProjectOptions)
    targets: tuple[str, ...] = ()  # APP [MIGRATION], or migration files
    apps: tuple[str, ...] = ()
    exclude_apps: tuple[str, ...] = ()
    since: str | None = None
    unapplied: bool = False
    pg_version: int | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    baseline: str | None = None
    write_baseline: str | None = None
    fail_on: FailOn = FailOn.ERROR
    show_sql: bool = False
    with_trace: bool = False
    fmt: OutputFormat = OutputFormat.TEXT
    output: str | None = None
    verbose: bool = False
    stats: str | None = None  # a `schemaops stats` snapshot: judge locks by table size
    lock_budget: str | None = None
    compact: bool = False  # --summary: one line per operation
    show_info: bool = False
    quiet: bool = False  # -q: no notes on stderr (the report itself is unchanged)
    jobs: int | None = None  # processes to lint with (None: the CPUs; see gate.shards)

    def config(self) -> Config:
        """[tool.schemaops] with this command line's overrides."""
        return project_config(
            self.project,
            apps=self.apps,
            exclude_apps=self.exclude_apps,
            pg_version=self.pg_version,
            select=self.select,
            ignore=self.ignore,
            baseline=self.baseline,
            stats=self.stats,
            lock_budget=self.lock_budget,
        )


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


def migrations_in_files(loader: MigrationLoader, paths: list[str]) -> set[MigrationKey]:
    """The migrations of the graph whose module is one of ``paths``; other files are ignored."""
    wanted = {os.path.realpath(p) for p in paths}
    keys = set()
    for key, migration in loader.graph.nodes.items():
        module = sys.modules.get(type(migration).__module__)
        path = getattr(module, "__file__", None)
        if path and os.path.realpath(path) in wanted:
            keys.add(key)
    return keys


def run_check(options: CheckOptions) -> int:
    """Lint the selected migrations, print the report, return the exit status.

    Migration files among ``options.targets`` narrow the selection to those files;
    a file that is no migration of the project is skipped, so pre-commit can pass
    whatever matched its file filter.
    """
    app_label, migration_name, paths = split_targets(options.targets)
    cfg = options.config()
    setup_django(cfg)
    applied: set[tuple[str, str]] = set()
    pg_version = cfg.pg_version
    if options.project.database or options.unapplied or options.with_trace:
        applied = applied_migrations(cfg.database)
        if pg_version is None:
            pg_version = server_pg_version(cfg.database) // 10000
    if migration_name and not app_label:
        raise ConfigError("give an app label before the migration name")
    selection = Selection(
        apps=cfg.apps if not app_label else (app_label,),
        exclude_apps=cfg.exclude_apps,
        since=options.since,
        unapplied_only=options.unapplied,
        target=(app_label, migration_name) if app_label and migration_name else None,
        applied=applied,
    )
    loader = load_graph()
    selected = selection.resolve(loader)
    if paths is not None:
        selected &= migrations_in_files(loader, paths)

    def new_linter() -> Linter:
        return Linter(
            loader,
            cfg,
            pg_version=pg_version or 15,
            want_sql=options.show_sql,
            keep_steps=options.show_sql,
            applied=applied,
        )

    linter = new_linter()
    if options.show_sql or options.with_trace or options.write_baseline:
        result = linter.run(selected)  # what these read stays in this process
        if options.with_trace:
            _merge_trace(result, loader, selected, cfg)
        estimate_findings(result.findings, cfg)
        if options.write_baseline:
            count = write_baseline(options.write_baseline, result.findings)
            if not options.quiet:
                click.echo(
                    f"schemaops: wrote {count} finding(s) to {options.write_baseline}", err=True
                )
            return 0
        remedies = attach_remedies(
            result.findings,
            loader,
            (pg_version or 15) * 10000,
            sql=result.sql,
            lock_timeout=cfg.lock_timeout,
        )
    else:

        def lint(keys: set[MigrationKey]) -> Linted:
            return _lint(new_linter(), keys, cfg, loader, (pg_version or 15) * 10000)

        result, remedies = lint_shared(loader, selected, lint, options.jobs)
    report = build_report(result, linter)
    report.remedies = remedies
    text = render(
        report,
        options.fmt,
        verbose=options.verbose,
        compact=options.compact,
        show_info=options.show_info or options.verbose,
    )
    if options.show_sql and options.fmt == OutputFormat.TEXT:
        text = _sql_listing(result) + "\n" + text
    emit(text, options.output)
    return exit_code_for(result.findings, options.fail_on)


@dataclass
class Linted:
    """What linting a part of the selection gives: the lint result (its findings with
    their recipes written) and the remedies planned for them."""

    result: LintResult
    remedies: dict[str, dict[str, Any]]


def _lint(
    linter: Linter, keys: set[MigrationKey], cfg: Config, loader: MigrationLoader, pg: int
) -> Linted:
    result = linter.run(keys)
    estimate_findings(result.findings, cfg)
    remedies = attach_remedies(
        result.findings, loader, pg, sql=result.sql, lock_timeout=cfg.lock_timeout
    )
    result.sql = {}  # read by the planner only: not sent back from a shard
    return Linted(result, remedies)


def lint_shared(
    loader: MigrationLoader,
    selected: set[MigrationKey],
    lint: Callable[[set[MigrationKey]], Linted],
    jobs: int | None,
) -> tuple[LintResult, dict[str, dict[str, Any]]]:
    """``lint(selected)``, in as many processes as ``jobs`` (None: the CPUs) and the
    selection make worth it (see :mod:`schemaops.gate.shards`), merged in the order
    one process gives."""
    from schemaops.gate import shards

    if jobs is None:
        jobs = shards.usable_cpus()
    nodes = loader.graph.nodes
    parts = (
        shards.shares(selected, lambda key: 1 + len(nodes[key].operations), jobs)
        if jobs > 1 and shards.can_fork()
        else [selected]
    )
    done = shards.in_processes(parts, lint)
    if len(done) == 1:
        return done[0].result, done[0].remedies
    return _merged(done)


def _merged(done: list[Linted]) -> tuple[LintResult, dict[str, dict[str, Any]]]:
    """The parts' findings in the order of :attr:`LintResult.order`; their remedies in the
    order their findings come (the plan's)."""
    pairs = [(at, f) for d in done for at, f in zip(d.result.order, d.result.findings, strict=True)]
    pairs.sort(key=lambda pair: pair[0])  # stable: a part's own order among equals
    findings = [f for _, f in pairs]
    planned = {key: r for d in done for key, r in d.remedies.items()}
    # (the remedy of one operation: its findings' place is its migration's in the plan)
    with_remedy = [(at[1], f.operation, f.remedy) for at, f in pairs if f.remedy in planned]
    remedies = {key: planned[key] for _, _, key in sorted(with_remedy)}
    result = LintResult(
        findings,
        sum(d.result.migrations for d in done),
        sum(d.result.baselined for d in done),
        order=[at for at, _ in pairs],
    )
    return result, remedies


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


def _sql_listing(result: LintResult) -> str:
    lines = []
    for step in result.steps:
        lines.append(click.style(f"-- {step.app_label}.{step.name}", bold=True))
        for op in step.operations:
            lines.append(f"--   [{op.index}] {_describe(op.operation)}")
            for stmt in op.sql or ():
                lines.append("     " + stmt)
            if op.sql_error:
                lines.append(f"     -- SQL unavailable: {op.sql_error}")
    return "\n".join(lines)


def _describe(operation: Any) -> str:
    """Django's one-line description of an operation; a custom one may fail to give it."""
    try:
        return str(operation.describe())
    except Exception:
        return type(operation).__name__


def _merge_trace(
    result: LintResult, loader: MigrationLoader, selected: set[tuple[str, str]], cfg: Config
) -> None:
    from schemaops.trace.merge import merge_trace

    merge_trace(result, loader, selected, cfg)
