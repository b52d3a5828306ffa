"""Pure range and rate arithmetic (no database)."""

from __future__ import annotations

from schemaops.backfill import batching
from schemaops.backfill.batching import Progress, Range, Rate


def test_next_range_stops_at_the_bound_and_at_the_end() -> None:
    assert batching.next_range(1, 100, 11) == Range(1, 11)
    assert batching.next_range(95, 100, None) == Range(95, 101)
    assert batching.next_range(95, 100, 500) == Range(95, 101)
    assert batching.next_range(101, 100, None) is None


def test_split_halves_and_refuses_one_key() -> None:
    assert batching.split(Range(10, 20)) == (Range(10, 15), Range(15, 20))
    assert batching.split(Range(10, 13)) == (Range(10, 11), Range(11, 13))
    assert batching.split(Range(7, 8)) is None


def test_sweep_ranges_cover_every_key_once() -> None:
    ranges = batching.sweep_ranges(3, 25, 10)
    assert ranges == [Range(3, 13), Range(13, 23), Range(23, 26)]


def test_rate_is_pt_osc_weighted_average() -> None:
    rate = Rate().observe(1000, 0.5).observe(2000, 0.4)
    assert rate.rows == 2750 and abs(rate.seconds - 0.775) < 1e-9


def test_adapt_grows_at_most_twice_and_shrinks_freely() -> None:
    fast = Rate(100_000, 1.0)  # 100k rows/s: 10k rows fit in 0.1 s
    assert batching.adapt_batch_size(1000, fast, 0.1, 100, 50_000) == 2000
    assert batching.adapt_batch_size(8000, fast, 0.1, 100, 50_000) == 10_000
    slow = Rate(1000, 1.0)
    assert batching.adapt_batch_size(8000, slow, 0.1, 100, 50_000) == 100  # floor
    assert batching.adapt_batch_size(5000, Rate(), 0.1, 100, 3000) == 3000  # ceiling


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [batching.backoff_seconds(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert batching.backoff_seconds(50) == 30.0


def test_global_rate_slot() -> None:
    assert batching.rate_slot_seconds(500, 1000) == 0.5
    assert batching.rate_slot_seconds(500, 0) == 0.0


def test_should_stop_on_count_or_ratio() -> None:
    assert batching.should_stop(5, 100, max_failed=5)
    assert not batching.should_stop(4, 100, max_failed=5)
    assert batching.should_stop(4, 3, max_failed=50) is False  # too few batches for a ratio
    assert batching.should_stop(15, 10, max_failed=50)


def test_progress_rate_and_eta() -> None:
    p = Progress(done_keys=250, total_keys=1000, rows=500, elapsed=10.0)
    assert p.fraction == 0.25 and p.rows_per_second == 50.0 and p.eta_seconds == 30.0
    assert p.rows_remaining(2000) == 1500
    assert Progress(0, 1000, 0, 0.0).eta_seconds is None
    assert Progress(0, 0, 0, 0.0).fraction == 1.0
