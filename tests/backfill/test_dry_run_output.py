"""A Python backfill's --dry-run is short; --verbose shows the whole SQL and plan."""

from __future__ import annotations

from backfill_support import ShopCopy


def test_python_dry_run_is_short_and_verbose_shows_everything(shop: ShopCopy) -> None:
    shop.seed(2_000)
    short = shop.cli("start", "orders.FillTotalCents", "--dry-run", "--batch-size", "500")
    assert short.returncode == 0, short.stderr
    full = shop.cli("start", "orders.FillTotalCents", "--dry-run", "--batch-size", "500", "-v")
    assert full.returncode == 0, full.stderr
    assert len(short.stdout) < 2_500, len(short.stdout)

    def update(out: str) -> str:
        return next(line for line in out.splitlines() if "batch statement: UPDATE" in line)

    cut, whole = update(short.stdout), update(full.stdout)
    assert len(cut) < 260 and "--verbose shows it whole" in cut
    assert "--verbose" not in whole and len(whole) > len(cut) - 60
    assert "(rolled back)" in short.stdout and shop.wrong_rows() == 2_000
