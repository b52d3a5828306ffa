"""A run's status as the short texts the admin shows, on the pages and in the JSON feed.

One function formats them, so the numbers the page is rendered with and the numbers
the page's script swaps in later are the same. State is always spelled out (a mark
and a word), never carried by a colour alone.
"""

from __future__ import annotations

from typing import Any

from schemaops.backfill.control import RunStatus

STATE_MARKS = {
    "active": "▶",
    "stalled": "⚠",  # active, but no worker has shown a sign of life (status says why)
    "paused": "⏸",
    "cancelled": "■",
    "finished": "✓",
    "failed": "✗",
}
ACTIVE = "active"


def percent(status: RunStatus) -> float:
    """How far the run is, 0-100 (a finished run is at 100 whatever its key gaps)."""
    if status.state == "finished":
        return 100.0
    return round(status.progress.fraction * 100, 1)


def cells(status: RunStatus) -> dict[str, str]:
    """The texts of one run: state, progress, rows done and left, rate, ETA, throttle."""
    p = status.progress
    return {
        "state": f"{STATE_MARKS.get(status.state, '')} {status.state}".strip(),
        "percent": f"{percent(status):.1f}%",
        "rows_updated": f"{status.rows_updated:,}",
        "rows_left": f"~{p.rows_remaining(status.rows_estimate):,}"
        if status.state != "finished"
        else "0",
        "rate": f"{p.rows_per_second:,.0f} rows/s",
        "eta": duration(p.eta_seconds) if status.state == ACTIVE else "—",
        "stalled": status.stalled,
        "throttle": throttle(status),
        "batches": ", ".join(f"{n:,} {state}" for state, n in status.batches.items()),
    }


def throttle(status: RunStatus) -> str:
    if status.throttle_reason and status.throttle_state != "normal":
        return f"{status.throttle_state}: {status.throttle_reason}"
    return status.throttle_state


def duration(seconds: float | None) -> str:
    """``2h 5m``, ``3m 20s``, ``12s``; ``—`` when unknown."""
    if seconds is None:
        return "—"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def writes(run: Any) -> str:
    """What the run writes: its ``--set`` list (and ``--where``), or its Backfill class."""
    if run.kind == "python":
        return "Python Backfill"
    text = ", ".join(f"{column} = {expr}" for column, expr in run.assignments)
    return f"{text} where {run.where}" if run.where else text


def started_by(run: Any) -> str:
    return str((run.options or {}).get("started_by") or "command line")


def feed(status: RunStatus) -> dict[str, Any]:
    """One run in the JSON the page polls."""
    return {
        "id": status.id,
        "state": status.state,
        "percent": percent(status),
        "cells": cells(status),
    }
