"""Durations as people write them: ``2s``, ``500ms``, ``1min``, ``1.5h``, PostgreSQL's units.

One parser for every option and configuration key that takes a length of
time. A bare number keeps the meaning it always had where it is read: seconds
for schemaops' own delays, milliseconds where the value goes to PostgreSQL
(``lock_timeout = 500`` means 500 ms to the server).
"""

from __future__ import annotations

import re
from typing import Any

import click

# PostgreSQL's time units (the GUC unit table), in seconds
UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0}

_DURATION = re.compile(r"\s*(?P<number>[-+]?(\d+(\.\d*)?|\.\d+))\s*(?P<unit>[a-z]*)\s*")


def parse_duration(text: str | float, bare_unit: str = "s") -> float:
    """Seconds in ``text``; a number without unit is in ``bare_unit``.

    Raises ValueError with a message fit for the user (``-1s``: negative,
    ``5 sec``: unknown unit, listing the units there are).
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text) * UNITS[bare_unit]
    else:
        match = _DURATION.fullmatch(str(text))
        if match is None:
            raise ValueError(f"{text!r} is not a duration (examples: 2s, 500ms, 1min)")
        unit = match["unit"] or bare_unit
        if unit not in UNITS:
            raise ValueError(f"{text!r}: unknown unit {unit!r} (use one of {', '.join(UNITS)})")
        seconds = float(match["number"]) * UNITS[unit]
    if seconds < 0:
        raise ValueError(f"{text!r}: a duration cannot be negative")
    return seconds


def pg_setting(text: str | float) -> str:
    """A valid ``lock_timeout``/``statement_timeout`` value, as written (``5s``, ``500``).

    PostgreSQL reads the same units, so the text goes to the server unchanged
    once it is known to be a duration it accepts.
    """
    milliseconds = parse_duration(text, bare_unit="ms") * 1000
    if 0 < milliseconds < 1:
        raise ValueError(f"{text!r}: PostgreSQL counts timeouts in whole milliseconds")
    return str(text).strip()


def format_duration(seconds: float) -> str:
    """``seconds`` in the largest unit that keeps it short: 0.5 -> 500ms, 90 -> 1.5min."""
    for unit, size in (("h", 3600.0), ("min", 60.0), ("s", 1.0)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds * 1000:g}ms" if seconds else "0"


class Duration(click.ParamType):
    """A Click option type: a duration, converted to seconds (float)."""

    name = "duration"

    def __init__(self, bare_unit: str = "s") -> None:
        self.bare_unit = bare_unit

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(value, self.bare_unit)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class PgDuration(Duration):
    """A Click option type for a server timeout: kept as the text PostgreSQL reads (``500ms``)."""

    def __init__(self) -> None:
        super().__init__(bare_unit="ms")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return pg_setting(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
