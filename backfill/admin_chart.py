"""Throughput and batch duration over time, from the batch ledger, as SVG polylines.

The done batches of a run are grouped into at most ``BUCKETS`` equal slices of time
by PostgreSQL (one query, however many batches), so the chart costs the same for a
run of ten batches and one of a hundred thousand. The template draws the lines; no
JavaScript is involved.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections

BUCKETS = 60  # at most; fewer for a short run, so that a slice holds a few batches
BATCHES_PER_BUCKET = 3
WIDTH, HEIGHT = 600, 120

_BUCKETS_SQL = """
WITH done AS (
    SELECT extract(epoch FROM finished_at) AS t, rows, duration
    FROM schemaops_backfill_batch
    WHERE run_id = %(run)s AND state = 'done' AND finished_at IS NOT NULL
), span AS (
    SELECT min(t) AS t0, max(t) AS t1, least(%(most)s, greatest(1, count(*) / %(per)s)) AS n
    FROM done
)
SELECT least(floor((t - t0) / greatest(t1 - t0, 1e-6) * n), n - 1)::int AS bucket,
       min(n), min(t0), min(t1), sum(rows), avg(duration), count(*)
FROM done, span GROUP BY bucket ORDER BY bucket
"""


@dataclass(frozen=True)
class Series:
    """One line of the chart: its title, unit, largest value and SVG points."""

    title: str
    unit: str
    peak: float
    points: str

    @property
    def peak_label(self) -> str:
        return (
            f"{self.peak:,.0f} {self.unit}" if self.peak >= 10 else f"{self.peak:.2f} {self.unit}"
        )


@dataclass(frozen=True)
class Chart:
    """Both series over the same span of ``seconds``; empty before the first batch is done."""

    seconds: float
    batches: int
    throughput: Series
    duration: Series
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def series(self) -> tuple[Series, Series]:
        return self.throughput, self.duration

    @property
    def view_box(self) -> str:
        """Room above the plot for the peak's label and below it for the time axis."""
        return f"-5 -18 {self.width + 10} {self.height + 40}"

    @property
    def label_y(self) -> int:
        return self.height + 16


def chart(run_id: int, alias: str) -> Chart | None:
    """The chart of run ``run_id``, or None while it has no done batch."""
    with connections[alias].cursor() as cursor:
        cursor.execute(_BUCKETS_SQL, {"run": run_id, "most": BUCKETS, "per": BATCHES_PER_BUCKET})
        rows = cursor.fetchall()
    if not rows:
        return None
    buckets, t0, t1 = int(rows[0][1]), float(rows[0][2]), float(rows[0][3])
    width = (t1 - t0) / buckets if t1 > t0 else 1.0
    rates = [(b, float(r or 0) / width) for b, _, _, _, r, _, _ in rows]
    durations = [(b, float(d or 0) * 1000) for b, _, _, _, _, d, _ in rows]
    return Chart(
        seconds=t1 - t0,
        batches=sum(int(n) for *_, n in rows),
        throughput=_series("Throughput", "rows/s", rates, buckets),
        duration=_series("Average batch duration", "ms", durations, buckets),
    )


def _series(title: str, unit: str, values: list[tuple[int, float]], buckets: int) -> Series:
    """Each slice's value at the middle of its slice of time, scaled to the plot."""
    peak = max((v for _, v in values), default=0.0)
    scale = (HEIGHT - 10) / peak if peak > 0 else 0.0
    step = WIDTH / buckets
    points = " ".join(f"{(b + 0.5) * step:.1f},{HEIGHT - v * scale:.1f}" for b, v in values)
    return Series(title, unit, peak, points)
