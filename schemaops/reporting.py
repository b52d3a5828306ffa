"""Renderers: the only code that turns findings into text for people and tools.

Every command builds a :class:`Report` and hands it to :func:`render` with a
format name. Formats:

``text``      readable, coloured on a terminal (click decides), file:line first
``json``      ``{"version": 1, "findings": [...], "summary": {...}}``
``github``    GitHub Actions workflow commands (``::error file=...::message``)
``sarif``     SARIF 2.1.0, as plain JSON objects
``markdown``  a table ready for a pull-request comment or job summary
``gitlab``    GitLab code quality report (Code Climate JSON issues)
"""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import click

from schemaops import __version__
from schemaops.findings import Finding, Severity, summarize


class OutputFormat(StrEnum):
    """What ``--format`` names; each has a renderer below."""

    TEXT = "text"
    JSON = "json"
    GITHUB = "github"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    GITLAB = "gitlab"


class FailOn(StrEnum):
    """``--fail-on``: the lowest severity that makes the exit status 1."""

    ERROR = "error"
    WARNING = "warning"
    NEVER = "never"


FORMATS = tuple(f.value for f in OutputFormat)
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/schemaops/schemaops"

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


@dataclass
class RuleInfo:
    """What SARIF and markdown need to know about a rule or check code."""

    code: str
    name: str
    summary: str
    severity: Severity
    help_uri: str | None = None
    help_markdown: str | None = None  # the rule's docs, shown by code scanning


@dataclass
class Report:
    """A command's result: its findings plus what the summary line counts."""

    tool: str  # "check", "audit", "trace"
    findings: list[Finding]
    summary: dict[str, Any] = field(default_factory=dict)
    rules: dict[str, RuleInfo] = field(default_factory=dict)
    # json keys: "contract" = the stable check contract; "full" adds object/evidence
    json_shape: str = "contract"
    title: str = "schemaops"
    # the planner's remedies by operation key (``app.migration#index``), for check
    remedies: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    def counts(self) -> dict[str, Any]:
        counts = summarize(self.findings)
        return {
            **self.summary,
            "errors": counts["errors"],
            "warnings": counts["warnings"],
            "infos": counts["infos"],
        }


def operation_groups(findings: list[Finding]) -> list[list[Finding]]:
    """Findings in report order, those about one operation together (first seen first)."""
    groups: dict[Any, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.group or id(f), []).append(f)
    return list(groups.values())


def _shared_recipe(group: list[Finding]) -> tuple[str | None, Finding | None]:
    """The one remedy of an operation: the planner's, else the worst finding's recipe."""
    planned = next((f for f in group if f.remedy and f.recipe), None)
    if planned is not None:
        return planned.recipe, None
    ranked = sorted((f for f in group if f.recipe), key=lambda f: -f.severity)
    return (ranked[0].recipe, ranked[0]) if ranked else (None, None)


def emit(text: str, output: str | None = None) -> None:
    """Write a rendered report to stdout, or to the file ``output`` names."""
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


def render(
    report: Report,
    fmt: str,
    *,
    verbose: bool = False,
    compact: bool = False,
    show_info: bool | None = None,
) -> str:
    """``report`` in format ``fmt``. Text only: ``compact`` gives one line per operation;
    check's info findings are hidden unless ``show_info`` or ``verbose``."""
    try:
        renderer: Callable[..., str] = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None
    if fmt == "text":
        infos = show_info if show_info is not None else report.tool != "check"
        return render_text(report, verbose=verbose, compact=compact, show_info=infos)
    return renderer(report, verbose=verbose)


# -- paths for CI services ----------------------------------------------------

# Where GitHub Actions and GitLab CI check the repository out: annotations, SARIF
# and code quality reports must name files relative to it, whatever folder the
# Django project (and so the working directory of schemaops) is in.
CI_ROOT_VARIABLES = ("SCHEMAOPS_REPO_ROOT", "GITHUB_WORKSPACE", "CI_PROJECT_DIR")


def ci_path(path: str | None) -> str | None:
    """``path`` (relative to the working directory) made relative to the CI checkout."""
    if not path:
        return path
    root = next((os.environ[v] for v in CI_ROOT_VARIABLES if os.environ.get(v)), None)
    if root is None:
        return path
    absolute = os.path.realpath(path)
    root = os.path.realpath(root)
    if absolute != root and not absolute.startswith(root + os.sep):
        return path
    return os.path.relpath(absolute, root)


def _uri(path: str | None) -> str | None:
    """A SARIF artifact URI: a relative reference with forward slashes, %-escaped."""
    rel = ci_path(path)
    return urllib.parse.quote(rel.replace(os.sep, "/")) if rel else rel


# -- text -------------------------------------------------------------------


def _where(f: Finding) -> str:
    if f.path:
        return f"{f.path}:{f.line}" if f.line else f.path
    if f.app and f.migration:
        return f"{f.app}.{f.migration}"
    return f.obj or ""


# Audits of multi-tenant databases yield thousands of findings over hundreds of
# schemas: past this many, text and markdown group them under one heading per schema.
GROUP_BY_SCHEMA_FROM = 20


def by_schema(findings: list[Finding]) -> list[tuple[str | None, list[Finding]]] | None:
    """The findings per schema (database-wide ones first, then by name), or None when
    they are few or all in one schema (then they are shown as they come)."""
    schemas = {f.schema for f in findings}
    if len(findings) < GROUP_BY_SCHEMA_FROM or len(schemas - {None}) < 2:
        return None
    groups: dict[str | None, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.schema, []).append(f)
    return sorted(groups.items(), key=lambda item: (item[0] is not None, item[0] or ""))


def _group_title(schema: str | None, findings: list[Finding]) -> str:
    counts = summarize(findings)
    where = f"schema {schema}" if schema is not None else "database-wide"
    return (
        f"{where}: {len(findings)} finding(s), {counts['errors']} error(s), "
        f"{counts['warnings']} warning(s)"
    )


def render_text(
    report: Report, *, verbose: bool = False, compact: bool = False, show_info: bool = True
) -> str:
    """One block per operation: its hazards, then its one remedy (``compact``: one line);
    many findings over several schemas (an audit) come under one heading per schema."""
    shown = [f for f in report.active if verbose or show_info or f.severity is not Severity.INFO]
    lines: list[str] = []
    groups = by_schema(shown)
    for schema, findings in groups or [(None, shown)]:
        if groups is not None:
            lines += [click.style(f"== {_group_title(schema, findings)} ==", bold=True), ""]
        for group in operation_groups(findings):
            if compact:
                lines.append(_compact_line(group))
            elif len(group) == 1:
                lines.extend(_text_finding(group[0], verbose))
            else:
                lines.extend(_operation_block(group, verbose))
    if compact and lines:
        lines.append("")
    hidden = len(report.active) - len(shown)
    if hidden:
        lines.append(click.style(f"{hidden} info finding(s) hidden (-v to show)", dim=True))
    lines.append(_summary_line(report))
    return "\n".join(lines)


def _compact_line(group: list[Finding]) -> str:
    worst = max(group, key=lambda f: f.severity)
    sev = click.style(worst.severity.label, fg=_COLOURS[worst.severity], bold=True)
    codes = ",".join(dict.fromkeys(f.code for f in group))
    where = _where(worst) + (f" op {worst.operation}" if worst.operation is not None else "")
    fixable = " (schemaops fix)" if any(f.remedy for f in group) else ""
    return f"{where}: {sev}[{codes}] {worst.message}{fixable}".lstrip(": ")


def _text_finding(f: Finding, verbose: bool) -> list[str]:
    sev = click.style(f.severity.label, fg=_COLOURS[f.severity], bold=True)
    head = f"{_where(f)}: {sev}[{f.code} {f.name}] {f.message}"
    lines = [head.lstrip(": ")]
    where = [f"{f.app}.{f.migration}"] if f.path and f.migration else []
    if f.operation is not None:
        where.append(f"operation {f.operation}")
    if where:
        lines.append(click.style("  in " + ", ".join(where), dim=True))
    if f.lock:
        lines.append(f"  lock: {f.lock}")
    for key, value in f.evidence.items():
        lines.append(f"  {key}: {value}")
    if f.recipe and (verbose or f.severity is not Severity.INFO):
        lines.append("  safe recipe:")
        lines.extend("    " + r for r in f.recipe.rstrip().splitlines())
    lines.append("")
    return lines


def _operation_block(group: list[Finding], verbose: bool) -> list[str]:
    worst = max(group, key=lambda f: f.severity)
    sev = click.style(worst.severity.label, fg=_COLOURS[worst.severity], bold=True)
    head = f"{_where(worst)}: {sev} {worst.app}.{worst.migration} operation {worst.operation}"
    lines = [f"{head}: {len(group)} hazards".lstrip(": ")]
    for f in group:
        label = click.style(f.severity.label, fg=_COLOURS[f.severity])
        lines.append(f"  {label}[{f.code} {f.name}] {f.message}")
        if f.lock:
            lines.append(f"    lock: {f.lock}")
    recipe, source = _shared_recipe(
        group if verbose else [f for f in group if f.severity is not Severity.INFO]
    )
    if recipe:
        lines.append("  safe recipe" + (f" (from {source.code}):" if source else ":"))
        lines.extend("    " + r for r in recipe.rstrip().splitlines())
    lines.append("")
    return lines


def _summary_line(report: Report) -> str:
    c = report.counts()
    parts = [f"{k}: {v}" for k, v in report.summary.items()]
    parts += [f"{c['errors']} error(s)", f"{c['warnings']} warning(s)"]
    suppressed = len(report.findings) - len(report.active)
    if suppressed:
        parts.append(f"{suppressed} suppressed")
    colour = "red" if c["errors"] else ("yellow" if c["warnings"] else "green")
    return click.style(f"{report.title} {report.tool}: " + ", ".join(parts), fg=colour)


# -- json -------------------------------------------------------------------


def dumps(payload: Any) -> str:
    """``payload`` as indented JSON (two spaces, as ``json.dumps(indent=2)`` lays it out).

    Written by orjson: a large project's report is megabytes (5.9 MB at 1,000
    migrations), which the standard library's encoder writes in pure Python once
    it indents (43 ms there; orjson: 8 ms). Text is UTF-8 as it is (RFC 8259),
    not escaped to ASCII; a value JSON has no type for is written as its ``str``.
    """
    import orjson

    option = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(payload, default=str, option=option).decode()


def render_json(report: Report, *, verbose: bool = False) -> str:
    as_dict = (
        (lambda f: f.to_contract()) if report.json_shape == "contract" else (lambda f: f.to_dict())
    )
    payload: dict[str, Any] = {
        "version": 1,
        "findings": [as_dict(f) for f in report.active],
        "summary": report.counts(),
    }
    if report.tool == "check":
        payload["remedies"] = report.remedies
    return dumps(payload)


# -- GitHub Actions ---------------------------------------------------------


def _gh_escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_escape_property(value: str) -> str:
    return _gh_escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report, *, verbose: bool = False) -> str:
    """One annotation per operation: every hazard, then the one remedy."""
    commands = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    out = []
    for group in operation_groups(report.active):
        f = max(group, key=lambda g: g.severity)
        props = []
        if f.path:
            props.append(f"file={_gh_escape_property(ci_path(f.path) or '')}")
            if f.line:
                props.append(f"line={f.line}")
        title = ", ".join(dict.fromkeys(f"{g.code} {g.name}" for g in group))
        props.append(f"title={_gh_escape_property(title)}")
        body = "\n".join(
            (f"{g.code}: " if len(group) > 1 else "")
            + g.message
            + (f" Lock: {g.lock}." if g.lock else "")
            for g in group
        )
        recipe, _ = _shared_recipe(group)
        if recipe:
            body += "\n\nSafe recipe:\n" + recipe
        out.append(f"::{commands[f.severity]} {','.join(props)}::{_gh_escape_data(body)}")
    out.append(_summary_line(report))
    return "\n".join(out)


# -- SARIF ------------------------------------------------------------------


def render_sarif(report: Report, *, verbose: bool = False) -> str:
    """SARIF 2.1.0 as plain JSON objects (the tests validate it against the official schema)."""
    levels = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    codes = sorted({f.code for f in report.active} | set(report.rules))
    descriptors = [_sarif_rule(report, code, levels) for code in codes]
    index = {code: i for i, code in enumerate(codes)}
    driver = {
        "name": "schemaops",
        "version": __version__,
        "informationUri": INFORMATION_URI,
        "rules": descriptors,
    }
    run = {
        "tool": {"driver": driver},
        "results": [_sarif_result(f, index[f.code], levels) for f in report.active],
    }
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return dumps(log)


def _sarif_rule(report: Report, code: str, levels: dict[Severity, str]) -> dict[str, Any]:
    """A reportingDescriptor: the rule's id, name, summary, help and default level."""
    info = report.rules.get(code)
    sample = next((f for f in report.active if f.code == code), None)
    name = info.name if info else (sample.name if sample else code)
    severity = info.severity if info else (sample.severity if sample else Severity.WARNING)
    rule: dict[str, Any] = {
        "id": code,
        "name": name,
        "shortDescription": {"text": info.summary if info else name},
    }
    if info and info.help_uri:
        rule["helpUri"] = info.help_uri
    if info and info.help_markdown:
        rule["help"] = {"text": info.help_markdown, "markdown": info.help_markdown}
    rule["defaultConfiguration"] = {"level": levels[severity]}
    return rule


def _sarif_result(f: Finding, rule_index: int, levels: dict[Severity, str]) -> dict[str, Any]:
    text = f.message + (f" Lock: {f.lock}." if f.lock else "")
    if f.recipe:
        text += "\nSafe recipe:\n" + f.recipe
    result: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": levels[f.severity],
        "message": {"text": text},
    }
    if f.path:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(f.path)}}
        if f.line:
            physical["region"] = {"startLine": f.line}
        result["locations"] = [{"physicalLocation": physical}]
    elif f.obj:
        result["locations"] = [{"logicalLocations": [{"fullyQualifiedName": f.obj}]}]
    result["partialFingerprints"] = {"schemaops/v1": f.fingerprint}
    return result


# -- markdown ---------------------------------------------------------------


def _md_cell(value: Any) -> str:
    text = str(value if value is not None else "").replace("|", "\\|")
    return "<br>".join(text.splitlines())


def render_markdown(report: Report, *, verbose: bool = False) -> str:
    c = report.counts()
    icon = "❌" if c["errors"] else ("⚠️" if c["warnings"] else "✅")
    lines = [f"### {icon} {report.title} {report.tool}", ""]
    lines.append(
        ", ".join(
            [f"{k}: {v}" for k, v in report.summary.items()]
            + [f"**{c['errors']}** error(s)", f"**{c['warnings']}** warning(s)"]
        )
    )
    lines.append("")
    if not report.active:
        return "\n".join([*lines, "No findings."])
    groups = by_schema(report.active)
    for schema, findings in groups or [(None, report.active)]:
        if groups is not None:
            lines += [f"#### {_group_title(schema, findings)}", ""]
        lines += _markdown_table(findings)
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def _markdown_table(findings: list[Finding]) -> list[str]:
    lines = ["| | code | where | finding | lock |", "|---|---|---|---|---|"]
    marks = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "🛈"}
    groups = operation_groups(findings)
    for group in groups:
        f = max(group, key=lambda g: g.severity)
        where = _where(f) + (f" op {f.operation}" if f.operation is not None else "")
        codes = "<br>".join(dict.fromkeys(f"`{g.code}` {g.name}" for g in group))
        messages = "<br>".join(_md_cell(g.message) for g in group)
        locks = "<br>".join(dict.fromkeys(_md_cell(g.lock) for g in group if g.lock))
        lines.append(
            f"| {marks[f.severity]} | {codes} | {_md_cell(where)} | {messages} | {locks} |"
        )
    recipes = [(group, _shared_recipe(group)[0]) for group in groups]
    recipes = [(group, recipe) for group, recipe in recipes if recipe]
    if recipes:
        lines += ["", "<details><summary>Safe recipes</summary>", ""]
        for group, recipe in recipes:
            codes = ", ".join(dict.fromkeys(g.code for g in group))
            lines += [
                f"**{codes}** {_md_cell(_where(group[0]))}",
                "",
                "```python",
                (recipe or "").rstrip(),
                "```",
                "",
            ]
        lines.append("</details>")
    return lines


# -- GitLab code quality ----------------------------------------------------

_GITLAB_SEVERITY = {Severity.ERROR: "critical", Severity.WARNING: "major", Severity.INFO: "info"}


def render_gitlab(report: Report, *, verbose: bool = False) -> str:
    """A GitLab code quality report: a JSON array of Code Climate issues.

    GitLab needs ``description``, ``check_name``, ``fingerprint`` (unique in
    the report), ``severity`` and ``location.path``/``location.lines.begin``.
    """
    issues = []
    seen: dict[str, int] = {}
    for f in report.active:
        # the same rule may fire twice on one operation (two RunSQL statements)
        occurrence = seen[f.fingerprint] = seen.get(f.fingerprint, 0) + 1
        fingerprint = hashlib.sha1(f"{f.fingerprint}|{occurrence}".encode()).hexdigest()
        issue: dict[str, Any] = {
            "type": "issue",
            "check_name": f.code,
            "description": f"{f.code} {f.name}: {f.message}",
            "categories": ["Bug Risk"],
            "fingerprint": fingerprint,
            "severity": _GITLAB_SEVERITY[f.severity],
            "location": {"path": ci_path(f.path) or f.obj or "", "lines": {"begin": f.line or 1}},
        }
        body = [f"Lock: {f.lock}"] if f.lock else []
        if f.recipe:
            body.append(f"Safe recipe:\n\n```python\n{f.recipe.rstrip()}\n```")
        if body:
            issue["content"] = {"body": "\n\n".join(body)}
        issues.append(issue)
    return dumps(issues)


_RENDERERS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "json": render_json,
    "github": render_github,
    "sarif": render_sarif,
    "markdown": render_markdown,
    "gitlab": render_gitlab,
}


def exit_code_for(findings: Iterable[Finding], fail_on: FailOn = FailOn.ERROR) -> int:
    """1 when any active finding is at least as severe as ``fail_on``, else 0."""
    if fail_on == FailOn.NEVER:
        return 0
    if fail_on == FailOn.WARNING:
        return int(any(f.severity >= Severity.WARNING and not f.suppressed for f in findings))
    return int(any(f.severity is Severity.ERROR and not f.suppressed for f in findings))
