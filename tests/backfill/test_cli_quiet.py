"""-q on every backfill subcommand: no progress bar or progress log lines; the result,
warnings and errors stay (the same meaning as on check, trace, migrate, audit, tune)."""

from __future__ import annotations

import pytest
from backfill_support import SET_CENTS, ShopCopy

# What --quiet leaves out of the output: once per CI (see .ci/test).
pytestmark = pytest.mark.once


def test_quiet_start_keeps_the_result_and_drops_the_progress_lines(shop: ShopCopy) -> None:
    shop.seed(3_000)
    loud = shop.cli("start", "orders.Order", "--set", SET_CENTS, "--where", "id < 1000")
    assert loud.returncode == 0, loud.stderr
    assert "event=batch" in loud.stderr  # off a terminal, every batch is a log line
    quiet = shop.cli("start", "orders.Order", "--set", SET_CENTS, "-q", "--batch-size", "100")
    assert quiet.returncode == 0, quiet.stderr
    assert shop.wrong_rows() == 0
    assert "run 2 created" in quiet.stdout and "state finished" in quiet.stdout
    assert "event=" not in quiet.stderr and quiet.stderr == ""


def test_quiet_on_status_and_the_state_commands_changes_no_result(shop: ShopCopy) -> None:
    shop.seed(500)
    assert shop.cli("start", "orders.Order", "--set", SET_CENTS, "-q").returncode == 0
    for args in (
        ["status"],
        ["status", "1", "--format", "json"],
        ["pause", "1"],
        ["resume", "1"],
        ["retry", "1"],
        ["cancel", "1"],
    ):
        loud = shop.cli(*args)
        quiet = shop.cli(*args, "-q")
        assert (quiet.returncode, quiet.stdout.splitlines()[:1]) == (
            loud.returncode,
            loud.stdout.splitlines()[:1],
        ), args
        assert "event=" not in quiet.stderr, args
