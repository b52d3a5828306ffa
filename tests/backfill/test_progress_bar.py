"""The backfill progress bar fits the terminal: no refresh longer than a line, one ETA."""

from __future__ import annotations

import io
import re

import click
import pytest

from schemaops.cli.backfill import bar_layout


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("columns", [40, 60, 80, 100, 200])
def test_every_refresh_fits_the_terminal(columns: int) -> None:
    label = "run 12345"
    width, room = bar_layout(columns, label)
    out = Terminal()
    item = "1234567 rows 98765/s batch 20000 throttled (replication lag 12.5s)"
    with click.progressbar(
        length=1_000_000, label=label, width=width, show_eta=True, file=out,
        item_show_func=lambda s: s[:room] if s else s,
    ) as bar:  # fmt: skip
        for _ in range(5):
            bar.update(150_000, item)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    refreshes = [line for line in re.split(r"[\r\n]", text) if line.strip()]
    assert refreshes
    assert max(len(line) for line in refreshes) < columns, refreshes
    assert all(line.count("eta") <= 1 for line in refreshes)
