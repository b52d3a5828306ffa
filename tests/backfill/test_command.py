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
