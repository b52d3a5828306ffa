"""Turn a :class:`TunePlan` into text, JSON, a postgresql.conf snippet or SQL.

A settings diff is not a list of findings, so tune renders here rather than
through :mod:`schemaops.reporting`; the JSON follows the same habits
(``"version": 1`` first, stable keys).
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import click

from schemaops.driver import quote_literal
from schemaops.tune.apply import ApplyResult
from schemaops.tune.bench import BenchReport
from schemaops.tune.diff import CHANGE, SAME
from schemaops.tune.inputs import readable
from schemaops.tune.run import TunePlan

FORMATS = ("text", "json", "conf", "sql")
_INPUT_NAMES = {
    "memory": "ram_kb",
    "cpus": "cpus",
    "storage": "storage",
    "max_connections": "max_connections",
    "workload": "workload",
    "pg_version": "pg_version",
    "db_size": "db_size",
    "os": "os_type",
}


def render(result: TunePlan, fmt: str) -> str:
    return {"text": render_text, "json": render_json, "conf": render_conf, "sql": render_sql}[fmt](
        result
    )


def inputs_with_sources(result: TunePlan) -> dict[str, dict[str, Any]]:
    sources = result.profile.sources
    return {
        name: {"value": value, "source": sources.get(_INPUT_NAMES[name], "")}
        for name, value in result.profile.inputs().items()
    }


def render_json(result: TunePlan) -> str:
    rows = result.rows
    payload = {
        "version": 1,
        "target": result.target,
        "offline_reason": result.offline_reason,
        "inputs": inputs_with_sources(result),
        "settings": [row.to_dict() for row in rows],
        "warnings": result.notes,
        "summary": {
            "settings": len(rows),
            "change": sum(row.status == CHANGE for row in rows),
            "same": sum(row.status == SAME for row in rows),
            "needs_restart": sum(row.status == CHANGE and row.needs_restart for row in rows),
        },
    }
    return json.dumps(payload, indent=2)


def _header_comment(result: TunePlan) -> list[str]:
    inputs = ", ".join(f"{k} {v}" for k, v in result.profile.inputs().items() if v is not None)
    return [f"# schemaops tune (PGTune formulas): {inputs}"]


def render_conf(result: TunePlan) -> str:
    lines = _header_comment(result)
    lines.append("# Add or change these in postgresql.conf, then restart the server.")
    lines += [f"{row.name} = {row.proposed}" for row in result.rows]
    return "\n".join(lines)


def render_sql(result: TunePlan) -> str:
    """ALTER SYSTEM statements. Setting names come from the formulas' fixed set,
    never from input, and values are quoted as SQL string literals."""
    lines = _header_comment(result)
    lines.append("-- ALTER SYSTEM writes postgresql.auto.conf; some settings need a restart.")
    lines = [line.replace("#", "--", 1) for line in lines]
    for row in result.rows:
        literal = quote_literal(str(row.proposed))
        lines.append(f"ALTER SYSTEM SET {row.name} = {literal};")
    lines.append("SELECT pg_reload_conf();")
    return "\n".join(lines)


def render_text(result: TunePlan) -> str:
    lines = [
        f"Server: {result.target}" if result.target else f"Server: none ({result.offline_reason})"
    ]
    lines.append("Inputs (what was given, detected or assumed):")
    for name, item in inputs_with_sources(result).items():
        value = "unknown" if item["value"] is None else item["value"]
        lines.append(f"  {name:<16} {value!s:<10} {item['source']}")
    lines.append("")
    lines += _setting_lines(result)
    lines.append("")
    lines += [click.style(f"Note: {note}", fg="yellow") for note in result.notes]
    lines.append(_summary(result))
    return "\n".join(lines)


def _setting_lines(result: TunePlan) -> list[str]:
    lines = []
    for row in result.rows:
        if row.status == SAME:
            mark, colour = "=", "green"
        elif row.status == CHANGE:
            mark, colour = "~", "yellow"
        else:
            mark, colour = "+", "cyan"
        now = f"  (now {row.current})" if row.current is not None else ""
        if row.status == "unknown to server":
            now = "  (this server has no such setting)"
        restart = "  needs restart" if row.needs_restart and row.status == CHANGE else ""
        head = f"{mark} {row.name} = {row.proposed}"
        if readable(row.proposed) != row.proposed:
            head += f" (about {readable(row.proposed)})"
        lines.append(click.style(head, fg=colour) + now + click.style(restart, fg="red"))
        lines += textwrap.wrap(row.why, 92, initial_indent="    ", subsequent_indent="    ")
    return lines


def _summary(result: TunePlan) -> str:
    if result.target is None:
        return (
            f"{len(result.rows)} settings proposed from the inputs alone. "
            "Use --format conf or --format sql to copy them."
        )
    changes = result.changes
    restart = sum(row.needs_restart for row in changes)
    return (
        f"{len(changes)} of {len(result.rows)} settings differ by more than 5% "
        f"({restart} need a restart). Apply them with --apply, undo with --revert."
    )


def render_apply(result: ApplyResult, verb: str) -> str:
    lines = [
        f"{verb} {len(result.changed)} settings with ALTER SYSTEM; saved state: {result.state_file}"
    ]
    if result.live:
        lines.append("In effect now: " + ", ".join(result.live))
    if result.needs_restart:
        lines.append(
            click.style("Restart the server for: ", fg="red") + ", ".join(result.needs_restart)
        )
    if result.skipped:
        lines.append(
            "Left alone (changed by someone else since schemaops applied them): "
            + ", ".join(result.skipped)
        )
    lines += [click.style(f"server reports: {error}", fg="red") for error in result.errors]
    return "\n".join(lines)


def render_bench(report: BenchReport) -> str:
    o = report.options
    lines = [
        f"pgbench scale {o.scale} (~{o.scale * 15}MB), {o.clients} clients, {o.seconds}s per run",
        f"{'mode':<12} {'before tps':>12} {'after tps':>12} {'ratio':>7}",
    ]
    for run in report.runs:
        lines.append(
            f"{run.mode:<12} {run.tps_before:>12.1f} {run.tps_after:>12.1f} {run.ratio:>6.2f}x"
        )
    if report.restarted:
        lines.append("The server was restarted so that restart-only settings were in effect.")
    if report.not_in_effect:
        lines.append(
            "Not in effect during 'after' (needs a restart; give --restart-command): "
            + ", ".join(report.not_in_effect)
        )
    lines.append(
        "Settings kept (--apply); undo with --revert."
        if report.kept
        else "Previous settings restored; scratch database dropped."
    )
    return "\n".join(lines)
