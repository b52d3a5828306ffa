"""What ``schemaops backfill start`` can tune, stored on the run (Django-free, so the
command line reads its defaults from here without importing Django)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from schemaops.errors import ConfigError

UNITS_MS = {"ms": 1, "s": 1000, "min": 60_000}


def parse_duration_ms(text: str) -> int:
    """PostgreSQL-style durations for the timeouts: ``500ms``, ``2s``, ``1min``, or ms."""
    value = text.strip()
    for unit in sorted(UNITS_MS, key=len, reverse=True):
        if value.endswith(unit) and value[: -len(unit)].strip():
            number = value[: -len(unit)].strip()
            break
    else:
        number, unit = value, "ms"
    try:
        return int(float(number) * UNITS_MS[unit])
    except ValueError:
        raise ConfigError(f"bad duration {text!r}: use e.g. 500ms, 2s or 1min") from None


@dataclass(frozen=True)
class RunSettings:
    """Everything ``start`` can tune; stored on the run so every worker uses the same."""

    batch_size: int = 1_000
    min_batch_size: int = 100
    max_batch_size: int = 100_000
    target_seconds: float = 0.1
    pause_seconds: float = 0.0
    lock_timeout: str = "100ms"
    statement_timeout: str = "240ms"  # + checkpoint and commit: a 250 ms lock budget
    max_rows_per_second: float = 0.0
    lease_seconds: float = 120.0
    concurrency: int = 1
    interleave: bool = True  # two interleaved parts per range, when updates can be HOT
    options: dict[str, Any] = field(default_factory=dict)

    def columns(self) -> dict[str, Any]:
        values = asdict(self)
        values.pop("interleave")
        values["lock_timeout_ms"] = parse_duration_ms(values.pop("lock_timeout"))
        values["statement_timeout_ms"] = parse_duration_ms(values.pop("statement_timeout"))
        if not 0 < self.min_batch_size <= self.batch_size <= self.max_batch_size:
            raise ConfigError("need 0 < --min-batch-size <= --batch-size <= --max-batch-size")
        return values
