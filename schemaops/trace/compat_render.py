"""Text, JSON and markdown for a :class:`~schemaops.trace.compat.CompatResult`.

Like :mod:`schemaops.trace.render`: one block per phase (what was applied,
which releases ran on how many models, what it cost), then each break as a
finding (SO803/SO804) with the statement Django sent and PostgreSQL's error.
The JSON carries ``"version": 1`` like every schemaops report.
"""

from __future__ import annotations

import json

import click

from schemaops.trace.compat import OLD, RELEASE_WORDS, Break, CompatResult, PhaseReport
from schemaops.trace.compat_findings import NEW_CODE_BREAKS, OLD_CODE_BREAKS


def render_compat(result: CompatResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2)
    if fmt == "markdown":
        return render_markdown(result)
    return render_text(result)


def _head(phase: PhaseReport) -> str:
    applied = ", ".join(phase.migrations) or "nothing applied"
    releases = " and ".join(phase.releases)
    return (
        f"{phase.name} ({applied}): {releases} code on {phase.models} model(s), "
        f"apply {phase.apply_ms:.1f} ms, replay {phase.replay_ms:.1f} ms"
    )


def _blamed(brk: Break) -> str:
    return ", ".join(f"{a}.{m} op {o}" for a, m, o in brk.suspects) or "-"


def render_text(result: CompatResult) -> str:
    lines = []
    for phase in result.phases:
        lines.append(click.style(_head(phase), bold=True))
        for brk in (b for b in result.breaks if b.phase == phase.name):
            lines.extend(_text_break(brk))
        lines.append("")
    if result.error:
        lines.append(click.style(result.error, fg="red"))
    lines.extend(f"note: {n}" for n in result.notes)
    lines.append(_summary(result))
    return "\n".join(lines)


def _text_break(brk: Break) -> list[str]:
    code = OLD_CODE_BREAKS if brk.release == OLD else NEW_CODE_BREAKS
    who = RELEASE_WORDS[brk.release]
    return [
        click.style(f"  {code} {brk.model} ({brk.table}): {who}: {brk.step} fails", fg="red"),
        f"      error: {brk.error}",
        f"      statement: {_short(brk.statement)}",
        f"      blamed: {_blamed(brk)}",
    ]


def _short(sql: str, width: int = 160) -> str:
    one = " ".join(sql.split())
    return one if len(one) <= width else one[: width - 3] + "..."


def _summary(result: CompatResult) -> str:
    models = sum(p.models for p in result.phases)
    text = (
        f"schemaops trace --compat: {len(result.phases)} phase(s), {models} model run(s), "
        f"{len(result.breaks)} break(s)"
    )
    return click.style(text, fg="red" if result.failed else "green")


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: CompatResult) -> str:
    icon = "❌" if result.failed else "✅"
    lines = [f"### {icon} schemaops trace --compat", ""]
    lines += [
        "| phase | applied | code | models | apply ms | replay ms |",
        "|---|---|---|---|---|---|",
    ]
    for p in result.phases:
        applied = "<br>".join(p.migrations) or "-"
        lines.append(
            f"| {p.name} | {_cell(applied)} | {' + '.join(p.releases)} | {p.models} "
            f"| {p.apply_ms:.1f} | {p.replay_ms:.1f} |"
        )
    if result.breaks:
        lines += ["", "| code | release | phase | model | step | error | statement | blamed |"]
        lines.append("|---|---|---|---|---|---|---|---|")
        for b in result.breaks:
            code = OLD_CODE_BREAKS if b.release == OLD else NEW_CODE_BREAKS
            lines.append(
                f"| {code} | {b.release} | {b.phase} | {b.model} | {_cell(b.step)} "
                f"| {_cell(b.error)} | `{_cell(_short(b.statement, 80))}` | {_cell(_blamed(b))} |"
            )
    lines.append("")
    if result.error:
        lines += [f"Failed: `{_cell(result.error)}`", ""]
    lines.extend(f"- note: {_cell(n)}" for n in result.notes)
    lines.append(click.unstyle(_summary(result)))
    return "\n".join(lines)
