"""Renderers: the only code that turns findings into text for people and tools.

Every command builds a :class:`Report` and hands it to :func:`render` with a
format name. Formats:

``text``      readable, coloured on a terminal (click decides), file:line first
``json``      ``{"version": 1, "findings": [...], "summary": {...}}``
``github``    GitHub Actions workflow commands (``::error file=...::message``)
``sarif``     SARIF 2.1.0, built with the ``sarif-om`` object model
``markdown``  a table ready for a pull-request comment or job summary
``gitlab``    GitLab code quality report (Code Climate JSON issues)
"""

from __future__ import annotations

import hashlib
import json
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

    @property
    def active(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    def counts(self) -> dict[str, Any]:
        counts = summarize(self.findings)
        return {**self.summary, "errors": counts["errors"], "warnings": counts["warnings"]}


def emit(text: str, output: str | None = None) -> None:
    """Write a rendered report to stdout, or to the file ``output`` names."""
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)


def render(report: Report, fmt: str, *, verbose: bool = False) -> str:
    try:
        renderer: Callable[..., str] = _RENDERERS[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None
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


def render_text(report: Report, *, verbose: bool = False) -> str:
    lines: list[str] = []
    for f in report.active:
        sev = click.style(f.severity.label, fg=_COLOURS[f.severity], bold=True)
        head = f"{_where(f)}: {sev}[{f.code} {f.name}] {f.message}"
        lines.append(head.lstrip(": "))
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
    lines.append(_summary_line(report))
    return "\n".join(lines)


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


def render_json(report: Report, *, verbose: bool = False) -> str:
    as_dict = (
        (lambda f: f.to_contract()) if report.json_shape == "contract" else (lambda f: f.to_dict())
    )
    payload = {
        "version": 1,
        "findings": [as_dict(f) for f in report.active],
        "summary": report.counts(),
    }
    return json.dumps(payload, indent=2, default=str)


# -- GitHub Actions ---------------------------------------------------------


def _gh_escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_escape_property(value: str) -> str:
    return _gh_escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report, *, verbose: bool = False) -> str:
    commands = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    out = []
    for f in report.active:
        props = []
        if f.path:
            props.append(f"file={_gh_escape_property(ci_path(f.path) or '')}")
            if f.line:
                props.append(f"line={f.line}")
        props.append(f"title={_gh_escape_property(f'{f.code} {f.name}')}")
        body = f.message + (f" Lock: {f.lock}." if f.lock else "")
        if f.recipe:
            body += "\n\nSafe recipe:\n" + f.recipe
        out.append(f"::{commands[f.severity]} {','.join(props)}::{_gh_escape_data(body)}")
    out.append(_summary_line(report))
    return "\n".join(out)


# -- SARIF ------------------------------------------------------------------


_SARIF_EXPLICIT = {"version", "level"}


def _sarif_to_dict(obj: Any) -> Any:
    """Serialize sarif-om objects by their schema property names, dropping unset ones."""
    import attr  # only SARIF needs it (~6 ms of every command's start otherwise)

    if attr.has(type(obj)):
        result = {}
        for a in attr.fields(type(obj)):
            value = getattr(obj, a.name)
            # sarif-om defaults (-1 indices, empty lists) are noise; a level is not
            if value is None or (value == a.default and a.name not in _SARIF_EXPLICIT):
                continue
            result[a.metadata.get("schema_property_name", a.name)] = _sarif_to_dict(value)
        return result
    if isinstance(obj, list | tuple):
        return [_sarif_to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _sarif_to_dict(v) for k, v in obj.items()}
    return obj


def render_sarif(report: Report, *, verbose: bool = False) -> str:
    import sarif_om as so

    levels = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    codes = sorted({f.code for f in report.active} | set(report.rules))
    descriptors = []
    for code in codes:
        info = report.rules.get(code)
        sample = next((f for f in report.active if f.code == code), None)
        name = info.name if info else (sample.name if sample else code)
        text = info.summary if info else name
        severity = info.severity if info else (sample.severity if sample else Severity.WARNING)
        descriptors.append(
            so.ReportingDescriptor(
                id=code,
                name=name,
                short_description=so.MultiformatMessageString(text=text),
                help_uri=info.help_uri if info else None,
                help=(
                    so.MultiformatMessageString(
                        text=info.help_markdown, markdown=info.help_markdown
                    )
                    if info and info.help_markdown
                    else None
                ),
                default_configuration=so.ReportingConfiguration(level=levels[severity]),
            )
        )
    index = {code: i for i, code in enumerate(codes)}
    results = [_sarif_result(so, f, index[f.code], levels) for f in report.active]
    run = so.Run(
        tool=so.Tool(
            driver=so.ToolComponent(
                name="schemaops",
                version=__version__,
                information_uri=INFORMATION_URI,
                rules=descriptors,
            )
        ),
        results=results,
    )
    log = so.SarifLog(version="2.1.0", schema_uri=SARIF_SCHEMA, runs=[run])
    return json.dumps(_sarif_to_dict(log), indent=2)


def _sarif_result(so: Any, f: Finding, rule_index: int, levels: dict[Severity, str]) -> Any:
    text = f.message + (f" Lock: {f.lock}." if f.lock else "")
    if f.recipe:
        text += "\nSafe recipe:\n" + f.recipe
    locations = None
    if f.path:
        region = so.Region(start_line=f.line) if f.line else None
        locations = [
            so.Location(
                physical_location=so.PhysicalLocation(
                    artifact_location=so.ArtifactLocation(uri=_uri(f.path)), region=region
                )
            )
        ]
    elif f.obj:
        locations = [
            so.Location(logical_locations=[so.LogicalLocation(fully_qualified_name=f.obj)])
        ]
    return so.Result(
        rule_id=f.code,
        rule_index=rule_index,
        level=levels[f.severity],
        message=so.Message(text=text),
        locations=locations,
        partial_fingerprints={"schemaops/v1": f.fingerprint},
    )


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
    lines += ["| | code | where | finding | lock |", "|---|---|---|---|---|"]
    marks = {Severity.ERROR: "❌", Severity.WARNING: "⚠️", Severity.INFO: "🛈"}
    for f in report.active:
        where = _where(f) + (f" op {f.operation}" if f.operation is not None else "")
        lines.append(
            f"| {marks[f.severity]} | `{f.code}` {f.name} | {_md_cell(where)} "
            f"| {_md_cell(f.message)} | {_md_cell(f.lock)} |"
        )
    recipes = [f for f in report.active if f.recipe]
    if recipes:
        lines += ["", "<details><summary>Safe recipes</summary>", ""]
        for f in recipes:
            lines += [
                f"**{f.code}** {_md_cell(_where(f))}",
                "",
                "```python",
                (f.recipe or "").rstrip(),
                "```",
                "",
            ]
        lines.append("</details>")
    return "\n".join(lines)


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
    return json.dumps(issues, indent=2)


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
