"""The cost model: how long a blocking step takes on a table of a given size.

Each kind of blocking step costs a fixed part plus a part per million rows and
a part per GiB of heap::

    ms = fixed_ms + (rows / 1e6 * ms_per_million_rows + heap / 2**30 * ms_per_gib) * f

where ``f`` is ``large_factor`` above ``large_above_rows`` rows and 1 below. A
table rewrite also rebuilds every index of the table, each at the cost of an
index build. A foreign key validation is a hash anti-join of the table with
the referenced one, so both tables' rows and heaps count; once its hash table
outgrows the CPU caches each row costs three to four times as much, and more
again once it outgrows maintenance_work_mem and is processed in batches. Scans
and rewrites of large tables cost more per GiB too: the table no longer stays
in shared_buffers, and a rewrite's WAL brings checkpoints along.

The default constants were calibrated by ``bench/stats_bench.py`` on
PostgreSQL 15 (warm cache, default maintenance settings); a team whose
production server is faster or slower overrides them in
``[tool.schemaops.stats-cost]`` (see docs/stats.md) with the figures the bench
prints on a copy of their data.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from schemaops.errors import ConfigError


class Step(enum.StrEnum):
    """The kinds of blocking step whose duration the model estimates."""

    INDEX_BUILD = "index-build"
    REWRITE = "rewrite"
    FK_VALIDATION = "fk-validation"
    CHECK_VALIDATION = "check-validation"
    NOT_NULL_SCAN = "not-null-scan"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Step.INDEX_BUILD: "index build",
    Step.REWRITE: "table rewrite",
    Step.FK_VALIDATION: "foreign key validation scan",
    Step.CHECK_VALIDATION: "CHECK validation scan",
    Step.NOT_NULL_SCAN: "SET NOT NULL scan",
}


@dataclass(frozen=True)
class StepCost:
    """The constants of one kind of step (milliseconds)."""

    fixed_ms: float
    ms_per_million_rows: float
    ms_per_gib: float
    large_above_rows: float = float("inf")
    large_factor: float = 1.0
    spill_factor: float = 1.0  # when the step's working set exceeds maintenance_work_mem

    def ms(self, rows: float, heap_bytes: float, spills: bool = False) -> float:
        scale = self.large_factor if rows > self.large_above_rows else 1.0
        if spills:
            scale *= self.spill_factor
        per_size = rows / 1e6 * self.ms_per_million_rows + heap_bytes / 2**30 * self.ms_per_gib
        return self.fixed_ms + per_size * scale


# tables of more than ~500k narrow rows: a scan no longer stays in shared_buffers, a
# rewrite's WAL brings checkpoints along
_LARGE = 500_000

# calibrated with bench/stats_bench.py --fit (see docs/stats.md for the run)
DEFAULT_COSTS: dict[Step, StepCost] = {
    Step.INDEX_BUILD: StepCost(fixed_ms=0.2, ms_per_million_rows=400.0, ms_per_gib=0.0),
    Step.REWRITE: StepCost(
        fixed_ms=1.0,
        ms_per_million_rows=0.0,
        ms_per_gib=6000.0,
        large_above_rows=_LARGE,
        large_factor=2.2,
    ),
    Step.FK_VALIDATION: StepCost(
        fixed_ms=0.1,
        ms_per_million_rows=150.0,
        ms_per_gib=0.0,
        large_above_rows=_LARGE,
        large_factor=3.3,
        spill_factor=1.35,
    ),
    Step.CHECK_VALIDATION: StepCost(
        fixed_ms=0.05,
        ms_per_million_rows=0.0,
        ms_per_gib=600.0,
        large_above_rows=_LARGE,
        large_factor=1.7,
    ),
    Step.NOT_NULL_SCAN: StepCost(
        fixed_ms=0.05,
        ms_per_million_rows=0.0,
        ms_per_gib=600.0,
        large_above_rows=_LARGE,
        large_factor=1.7,
    ),
}


@dataclass(frozen=True)
class TableSize:
    """What the model reads about one table."""

    rows: int
    heap_bytes: int
    indexes: int = 0  # how many indexes a rewrite rebuilds


# bytes per referenced row in the hash table of a foreign key validation (EXPLAIN ANALYZE
# of the validation query: 1,000,000 bigint keys use 47 MB)
HASHED_KEY_BYTES = 48
DEFAULT_MAINTENANCE_WORK_MEM = 64 * 2**20


@dataclass(frozen=True)
class CostModel:
    """The constants per step, and the server's maintenance_work_mem (from the snapshot)."""

    costs: Mapping[Step, StepCost] = field(default_factory=lambda: dict(DEFAULT_COSTS))
    maintenance_work_mem: int = DEFAULT_MAINTENANCE_WORK_MEM  # bytes

    def estimate_ms(
        self, step: Step, table: TableSize, referenced: TableSize | None = None
    ) -> float:
        """The estimated duration of ``step`` on ``table``, in milliseconds."""
        cost = self.costs[step]
        ms = cost.ms(table.rows, table.heap_bytes)
        if step is Step.REWRITE and table.indexes:
            ms += table.indexes * self.costs[Step.INDEX_BUILD].ms(table.rows, table.heap_bytes)
        if step is Step.FK_VALIDATION and referenced is not None:
            # PostgreSQL runs the validation query with work_mem = maintenance_work_mem;
            # past it the hash of the referenced keys is built and probed in batches
            spills = referenced.rows * HASHED_KEY_BYTES > self.maintenance_work_mem
            rows, heap = table.rows + referenced.rows, table.heap_bytes + referenced.heap_bytes
            ms = cost.ms(rows, heap, spills)
        return ms

    def with_overrides(self, overrides: Mapping[str, Any]) -> CostModel:
        """A copy with ``{"index-build": {"ms-per-million-rows": 500}, ...}`` applied.

        Raises ConfigError on an unknown step or constant, or a value that is
        not a number >= 0.
        """
        costs = dict(self.costs)
        for raw_step, values in overrides.items():
            step = _parse_step(raw_step)
            if not isinstance(values, Mapping):
                raise ConfigError(f"stats-cost.{raw_step} must be a table of constants")
            costs[step] = replace(costs[step], **_constants(raw_step, values))
        return replace(self, costs=costs)


def _parse_step(raw: str) -> Step:
    try:
        return Step(raw)
    except ValueError:
        known = ", ".join(s.value for s in Step)
        raise ConfigError(f"unknown step {raw!r} in stats-cost ({known})") from None


def _constants(step: str, values: Mapping[str, Any]) -> dict[str, float]:
    names = {
        "fixed-ms",
        "ms-per-million-rows",
        "ms-per-gib",
        "large-above-rows",
        "large-factor",
        "spill-factor",
    }
    out = {}
    for raw, value in values.items():
        if raw not in names:
            raise ConfigError(
                f"unknown constant stats-cost.{step}.{raw} ({', '.join(sorted(names))})"
            )
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"stats-cost.{step}.{raw} must be a number >= 0")
        out[raw.replace("-", "_")] = float(value)
    return out
