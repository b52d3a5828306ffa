"""Text, JSON and markdown for a :class:`~schemaops.trace.runner.TraceResult`.

The per-statement table (lock, what it blocks, rewrite, duration) does not fit
the one-finding-per-line shape of :mod:`schemaops.reporting`, so trace has its
own renderer; the JSON carries ``"version": 1`` like every schemaops report.
"""

from __future__ import annotations

import json
from typing import Any

import click

from schemaops.trace.runner import TraceResult
from schemaops.trace.tracer import MigrationTrace, StatementTrace

FORMATS = ("text", "json", "markdown")


def render(result: TraceResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2)
    if fmt == "markdown":
        return render_markdown(result)
    return render_text(result)


def _short(sql: str, width: int = 100) -> str:
    one = " ".join(sql.split())
    return one if len(one) <= width else one[: width - 3] + "..."


def _interesting(stmt: StatementTrace) -> list[Any]:
    """For people: the strongest lock per relation, tables first; index and
    sequence locks only when they are ACCESS EXCLUSIVE on an existing one."""
    best: dict[str, Any] = {}
    for lk in stmt.locks:
        if lk.kind != "table" and not (lk.preexisting and lk.mode == "AccessExclusiveLock"):
            continue
        held = best.get(lk.relation)
        if held is None or (lk.lock and held.lock and lk.lock.strength > held.lock.strength):
            best[lk.relation] = lk
    return list(best.values())


def _lock_words(stmt: StatementTrace, with_blocks: bool = True) -> list[str]:
    out = []
    for lk in _interesting(stmt):
        new = "" if lk.preexisting else " (new)"
        text = f"{lk.label} on {lk.kind} {lk.relation}{new}"
        if with_blocks and lk.kind == "table" and lk.preexisting:
            text += f": blocks {lk.blocks}"
        out.append(text)
    return out


def _head(m: MigrationTrace) -> str:
    kind = "atomic" if m.atomic else "non-atomic"
    return f"{m.app}.{m.name} ({kind}, {m.outcome}, {m.duration_ms:.1f} ms)"


def render_text(result: TraceResult) -> str:
    lines = []
    for m in result.migrations:
        lines.append(click.style(_head(m), bold=True))
        for stmt in m.statements:
            lines.extend(_text_statement(stmt))
        if m.error:
            lines.append(click.style(f"  failed: {m.error}", fg="red"))
        lines.append("")
    lines.extend(f"note: {n}" for n in result.notes)
    lines.extend(_estimate_lines(result))
    lines.append(_summary(result))
    return "\n".join(lines)


def _estimate_lines(result: TraceResult) -> list[str]:
    """With --stats: each blocking step's estimate on the snapshot next to what was traced."""
    lines = []
    for e in result.estimates:
        m = result.find(e["app"], e["migration"])
        traced = [
            s.duration_ms for s in (m.statements if m else []) if s.operation == e["operation"]
        ]
        seen = f"; traced here: {sum(traced):.1f} ms" if traced else ""
        lines.append(
            f"estimate: {e['app']}.{e['migration']} [op {e['operation']}] {e['code']} "
            f"{e['step']} on {e['table']} (~{e['rows']:,} rows): {e['ms']:.1f} ms "
            f"(budget {e['budget_ms']:.0f} ms){seen}"
        )
    return lines + ([""] if lines else [])


def _text_statement(stmt: StatementTrace) -> list[str]:
    op = f"op {stmt.operation}" if stmt.operation is not None else "op -"
    lines = [f"  [{op}] {_short(stmt.sql)}"]
    how = "sampled from a second connection" if stmt.sampled else ""
    lines.append(f"      {stmt.duration_ms:.1f} ms {how}".rstrip())
    for words in _lock_words(stmt):
        colour = "red" if "blocks reads" in words or "blocks writes" in words else None
        lines.append("      lock: " + (click.style(words, fg=colour) if colour else words))
    if stmt.rewrites:
        lines.append(click.style("      rewrite: " + ", ".join(stmt.rewrites), fg="red"))
    for label, items in (
        ("column", stmt.changes.columns),
        ("constraint", stmt.changes.constraints),
    ):
        lines.extend(f"      {label}: {item}" for item in items)
    if stmt.error:
        lines.append(click.style(f"      error: {stmt.error}", fg="red"))
    return lines


def _summary(result: TraceResult) -> str:
    statements = sum(len(m.statements) for m in result.migrations)
    rewrites = sum(bool(s.rewrites) for m in result.migrations for s in m.statements)
    text = (
        f"schemaops trace: {len(result.migrations)} migration(s), {statements} statement(s), "
        f"{rewrites} rewrite(s), {_seeded(result)}"
    )
    return click.style(text, fg="red" if result.failed else "green")


def _seeded(result: TraceResult) -> str:
    """The rows each table really received (never just the number asked for)."""
    if not result.seeded:
        return "no rows seeded"
    counts = ", ".join(f"{table} {n}" for table, n in sorted(result.seeded.items()))
    return f"seeded row(s): {counts}"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(result: TraceResult) -> str:
    icon = "❌" if result.failed else "🔍"
    lines = [f"### {icon} schemaops trace", ""]
    for m in result.migrations:
        lines += [f"**{_cell(_head(m))}**", ""]
        lines += ["| op | statement | locks | rewrite | ms |", "|---|---|---|---|---|"]
        for s in m.statements:
            locks = "<br>".join(_cell(w) for w in _lock_words(s)) or "-"
            rewrite = ", ".join(s.rewrites) or "no"
            op = s.operation if s.operation is not None else "-"
            sql = f"`{_cell(_short(s.sql, 80))}`"
            lines.append(f"| {op} | {sql} | {locks} | {rewrite} | {s.duration_ms:.1f} |")
        if m.error:
            lines += ["", f"Failed: `{_cell(m.error)}`"]
        lines.append("")
    lines.extend(f"- note: {_cell(n)}" for n in result.notes)
    lines.append(click.unstyle(_summary(result)))
    return "\n".join(lines)
