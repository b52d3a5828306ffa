"""``backfill start``'s policy: option defaults, the merge with a Backfill class, stalls."""

from __future__ import annotations

import click
import pytest

from schemaops.backfill.base import Backfill
from schemaops.backfill.command import StallWatch, StartOptions, run_settings
from schemaops.backfill.resilience import DEFAULT_GIVE_UP_SECONDS
from schemaops.backfill.spec import Spec
from schemaops.backfill.throttle import Thresholds
from schemaops.backfill.tuning import RunSettings
from schemaops.cli.backfill import start_command
from schemaops.errors import ConfigError


def _spec(backfill: Backfill | None = None) -> Spec:
    return Spec("shop.Order", "sql", "shop_order", "id", (("c", "1"),), backfill=backfill)


def test_default_options_give_the_default_run_settings() -> None:
    settings = run_settings(_spec(), StartOptions("shop.Order"))
    assert settings == RunSettings(
        options={
            "max_lag_bytes": Thresholds.max_lag_bytes,
            "max_lag_seconds": Thresholds.max_lag_seconds,
            "on_autovacuum": "slow",
            "hook": "",
            "verify": True,
            "give_up_seconds": DEFAULT_GIVE_UP_SECONDS,  # outages a worker waits out
            "queue": None,  # where a stalled run's tasks are queued again
        }
    )


def test_click_defaults_are_the_dataclass_defaults() -> None:
    ctx = click.Context(start_command)
    defaults = {
        p.name: p.get_default(ctx)
        for p in start_command.params
        if isinstance(p, click.Option) and p.show_default
    }
    assert len(defaults) >= 12
    for name, default in defaults.items():
        assert default == getattr(StartOptions, str(name)), name


def test_a_backfill_class_sets_what_the_command_line_left_alone() -> None:
    class Slow(Backfill):
        batch_size = 500
        target_seconds = 0.5
        lock_timeout = "2s"

    settings = run_settings(_spec(Slow()), StartOptions("shop.Order", statement_timeout="1s"))
    assert (settings.batch_size, settings.min_batch_size) == (500, 100)
    assert (settings.target_seconds, settings.lock_timeout) == (0.5, "2s")
    assert settings.statement_timeout == "1s"
    given = run_settings(_spec(Slow()), StartOptions("shop.Order", batch_size=200_000))
    assert (given.batch_size, given.max_batch_size) == (200_000, 200_000)


def test_the_first_batch_fits_small_bounds() -> None:
    settings = run_settings(_spec(), StartOptions("shop.Order", max_batch_size=500))
    assert settings.batch_size == 500


def test_workers_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="--workers"):
        run_settings(_spec(), StartOptions("shop.Order", workers=0))


def test_stall_watch_fires_once_per_quiet_period() -> None:
    watch = StallWatch(after=60.0, last_change=0.0)
    assert not watch.stalled(10, 1.0)  # progress
    assert not watch.stalled(10, 60.0)
    assert watch.stalled(10, 61.5)  # a minute without progress
    assert not watch.stalled(10, 62.0)  # not again right away
    assert watch.stalled(10, 122.0)
    assert not watch.stalled(11, 500.0)  # progress resets the clock


class _Sized(Backfill):
    model = "orders.Order"


def _sized(size: int | None) -> Spec:
    return _spec(type("Sized", (_Sized,), {"batch_size": size})())


@pytest.mark.parametrize("size", [1, 5, 99, 100, 1_000, 100_000, 250_000, 10_000_000])
def test_the_bounds_follow_a_class_batch_size_of_any_size(size: int) -> None:
    settings = run_settings(_sized(size), StartOptions("shop.Order"))
    assert settings.batch_size == size
    assert settings.min_batch_size == min(100, size)
    assert settings.max_batch_size == max(100_000, size)
    settings.columns()  # what `start` stores: accepted


@pytest.mark.parametrize("size", [1, 5, 99, 100, 250_000])
def test_the_bounds_follow_a_batch_size_option_of_any_size(size: int) -> None:
    settings = run_settings(_spec(), StartOptions("shop.Order", batch_size=size))
    assert (settings.batch_size, settings.min_batch_size) == (size, min(100, size))
    assert settings.max_batch_size == max(100_000, size)
    settings.columns()


def test_given_bounds_are_kept_and_clamp_a_class_batch_size() -> None:
    low = run_settings(_sized(5), StartOptions("shop.Order", min_batch_size=20))
    assert (low.batch_size, low.min_batch_size, low.max_batch_size) == (20, 20, 100_000)
    high = run_settings(_sized(500_000), StartOptions("shop.Order", max_batch_size=1_000))
    assert (high.batch_size, high.min_batch_size, high.max_batch_size) == (1_000, 100, 1_000)
    both = run_settings(_sized(5), StartOptions("shop.Order", min_batch_size=2, max_batch_size=9))
    assert (both.batch_size, both.min_batch_size, both.max_batch_size) == (5, 2, 9)
    # No first size: the default, inside the given bounds.
    small = run_settings(_spec(), StartOptions("shop.Order", min_batch_size=3, max_batch_size=50))
    assert (small.batch_size, small.min_batch_size, small.max_batch_size) == (50, 3, 50)
    big = run_settings(_spec(), StartOptions("shop.Order", min_batch_size=5_000))
    assert (big.batch_size, big.min_batch_size) == (5_000, 5_000)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"batch_size": 50, "min_batch_size": 100},
            "--batch-size 50 is below --min-batch-size 100",
        ),
        (
            {"batch_size": 500, "max_batch_size": 100},
            "--batch-size 500 is above --max-batch-size 100",
        ),
        ({"batch_size": 0}, "--batch-size must be at least 1"),
        ({"batch_size": -5}, "--batch-size must be at least 1"),
        ({"min_batch_size": 0}, "--min-batch-size must be at least 1"),
        ({"max_batch_size": 0}, "--max-batch-size must be at least 1"),
        ({"min_batch_size": 10, "max_batch_size": 5}, "need --min-batch-size <= --max-batch-size"),
    ],
)
def test_contradicting_sizes_are_one_clear_error(options: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_settings(_spec(), StartOptions("shop.Order", **options))


@pytest.mark.parametrize("size", [0, -1, 2.5, "100"])
def test_a_class_batch_size_that_is_no_positive_integer_is_an_error(size: object) -> None:
    backfill = type("Bad", (_Sized,), {"batch_size": size})()
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        run_settings(_spec(backfill), StartOptions("shop.Order"))
