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


def test_a_steady_cost_per_row_is_never_capped_by_its_peak() -> None:
    rate = Rate()
    for _ in range(30):  # every batch: 1,000 rows in 0.1 s
        rate = rate.observe(1000, 0.1)
    assert abs(rate.peak - 0.0001) < 1e-12
    assert batching.adapt_batch_size(1000, rate, 0.1, 100, 100_000) == 1000


def test_after_a_slow_batch_the_next_ones_fit_the_peak_in_two_targets() -> None:
    rate = Rate()
    for _ in range(30):
        rate = rate.observe(1000, 0.1)
    slow = rate.observe(1000, 0.35)  # full-page writes after a checkpoint: 3.5x the cost
    assert batching.adapt_batch_size(1000, Rate(slow.rows, slow.seconds), 0.1, 100, 10**5) == 615
    size = batching.adapt_batch_size(1000, slow, 0.1, 100, 100_000)
    assert size == 571  # at the peak cost, 571 rows take 0.2 s: two targets
    assert size * slow.peak <= 2 * 0.1 + 1e-9
    # The peak decays: some 40 steady batches later the size is back where it was.
    later = slow
    for _ in range(40):
        later = later.observe(1000, 0.1)
    assert batching.adapt_batch_size(1000, later, 0.1, 100, 100_000) in (999, 1000)  # rounding


def test_the_peak_outlives_a_reset_of_the_average() -> None:
    rate = Rate(5000, 0.5, peak=0.0002)
    assert Rate(peak=rate.with_peak(1000, 0.5)).peak == 0.0005
    assert rate.with_peak(1000, 0.01) == 0.0002 * batching.PEAK_DECAY
    assert rate.with_peak(0, 0.3) == 0.0002 * batching.PEAK_DECAY  # no rows: no cost
