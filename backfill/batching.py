"""Pure range and rate arithmetic for backfills: no I/O, no Django, no clock.

Ranges are half-open primary-key intervals ``[lo, hi)``. Every function here
is deterministic, so the runner's decisions can be tested without a database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemaops.backfill.keys import KeyRange


@dataclass(frozen=True)
class Range:
    """Primary keys ``lo <= pk < hi``; for a key that is not one integer column, ``lo``
    and ``hi`` are ordinals and ``keys`` holds the key range itself."""

    lo: int
    hi: int
    keys: KeyRange | None = None

    @property
    def width(self) -> int:
        return self.hi - self.lo


def next_range(next_lo: int, last_pk: int, boundary: int | None) -> Range | None:
    """The range that starts at ``next_lo``.

    ``boundary`` is the key found ``batch_size`` rows after ``next_lo`` by the
    short index probe (None when fewer rows remain); ``last_pk`` is the run's
    inclusive upper bound. Returns None when the run has handed out every key.
    """
    if next_lo > last_pk:
        return None
    hi = last_pk + 1 if boundary is None else min(boundary, last_pk + 1)
    return Range(next_lo, max(hi, next_lo + 1))


def split(rng: Range) -> tuple[Range, Range] | None:
    """Halve a range for a batch that keeps timing out; None when it is one key wide."""
    if rng.width < 2:
        return None
    mid = rng.lo + rng.width // 2
    return Range(rng.lo, mid), Range(mid, rng.hi)


def sweep_ranges(lo: int, hi: int, step: int) -> list[Range]:
    """Cover ``[lo, hi]`` (inclusive) with ranges of ``step`` keys, for the verification sweep."""
    return [Range(start, min(start + step, hi + 1)) for start in range(lo, hi + 1, step)]


def gaps(done: list[Range], start: int) -> list[Range]:
    """The keys from ``start`` on that no range of ``done`` (sorted, not overlapping)
    covers; the last gap is open (its ``hi`` is None's stand-in, ``2**63 - 1``)."""
    found, at = [], start
    for rng in done:
        if rng.lo > at:
            found.append(Range(at, rng.lo))
        at = max(at, rng.hi)
    return [*found, Range(at, OPEN_END)]


OPEN_END = 2**63 - 1  # past every bigint key


PEAK_DECAY = 0.9  # per batch: a slow batch is remembered for ~20 batches
PEAK_TARGETS = 2.0  # a batch at the recent peak cost per row takes at most this many targets


@dataclass(frozen=True)
class Rate:
    """pt-online-schema-change's decaying average of rows and seconds (weight 0.75), and
    the recent peak cost of a row (seconds per row of the slowest recent batch, decaying
    by :data:`PEAK_DECAY` a batch)."""

    rows: float = 0.0
    seconds: float = 0.0
    peak: float = 0.0

    def observe(self, rows: int, seconds: float, weight: float = 0.75) -> Rate:
        peak = self.with_peak(rows, seconds)
        if self.seconds <= 0:
            return Rate(float(rows), seconds, peak)
        return Rate(weight * self.rows + rows, weight * self.seconds + seconds, peak)

    def with_peak(self, rows: int, seconds: float) -> float:
        """The peak once a batch of ``rows`` took ``seconds``."""
        return max(seconds / rows if rows > 0 else 0.0, self.peak * PEAK_DECAY)

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def adapt_batch_size(
    current: int, rate: Rate, target_seconds: float, lo: int, hi: int, max_growth: float = 2.0
) -> int:
    """Next batch size: rows the measured rate fits in ``target_seconds``, within bounds.

    Growth is capped at ``max_growth`` per step so one fast, empty range cannot
    make the next batch huge; shrinking is uncapped (GitLab's optimizer is too).

    The average sizes the typical batch; the recent peak cost of a row bounds the
    slow one. Where a row's cost varies a lot from batch to batch (a random UUID key:
    every row on another heap page, full-page writes after each checkpoint, the OS
    cache), a batch sized on the average to take the target takes 2.5 times as long
    now and then, close to the statement timeout (the lock budget). So no batch is cut
    bigger than what takes :data:`PEAK_TARGETS` targets at the recent peak: with a
    steady cost the peak is the average and this never binds (no batch is smaller);
    after a slow batch the next ~20 are smaller, and the slow ones stay under it.
    """
    if rate.per_second <= 0 or rate.rows < 1:
        return clamp(current, lo, hi)
    wanted = int(rate.per_second * target_seconds)
    if rate.peak > 0:
        wanted = min(wanted, int(PEAK_TARGETS * target_seconds / rate.peak))
    return clamp(min(wanted, int(current * max_growth)), lo, hi)


def clamp(value: int, lo: int, hi: int) -> int:
    return max(lo, min(hi, value))


def backoff_seconds(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff for a retried batch: base, 2*base, 4*base ... up to cap."""
    return float(min(cap, base * (2 ** max(0, attempt - 1))))


def rate_slot_seconds(rows: int, max_rows_per_second: float) -> float:
    """Time one batch of ``rows`` uses up in the global rate budget (0 when unlimited)."""
    if max_rows_per_second <= 0:
        return 0.0
    return rows / max_rows_per_second


def should_stop(failed: int, finished: int, max_failed: int, max_ratio: float = 0.5) -> bool:
    """A run stops itself after ``max_failed`` failed batches, or when most batches fail.

    The ratio only counts once 20 batches have ended, like GitLab's minimum jobs rule.
    """
    if failed >= max_failed:
        return True
    ended = failed + finished
    return ended >= 20 and failed / ended > max_ratio


@dataclass(frozen=True)
class Progress:
    """What ``status`` shows: fraction done, rows per second, seconds left (None: unknown)."""

    done_keys: int
    total_keys: int
    rows: int
    elapsed: float

    @property
    def fraction(self) -> float:
        if self.total_keys <= 0:
            return 1.0
        return min(1.0, self.done_keys / self.total_keys)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if self.fraction >= 1.0:
            return 0.0
        if self.fraction <= 0 or self.elapsed <= 0:
            return None
        return self.elapsed * (1 - self.fraction) / self.fraction

    def rows_remaining(self, rows_estimate: int) -> int:
        """Estimated rows still to visit, from the table's row estimate."""
        return max(0, math.ceil(rows_estimate * (1 - self.fraction)))
