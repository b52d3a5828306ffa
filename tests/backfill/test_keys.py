"""Any primary key: random UUIDs, text, composite keys, and a table without a usable key.

The tables belong to the ``keyed`` test app of the demo project (unmanaged models,
installed through ``SHOP_EXTRA_APPS``); each test creates the ones it needs.
"""

from __future__ import annotations

import itertools
import time

import pytest
from backfill_support import ShopCopy

TABLES = {
    "Token": "CREATE TABLE keyed_token (id uuid PRIMARY KEY, value int NOT NULL, doubled bigint);"
    " INSERT INTO keyed_token SELECT gen_random_uuid(), g, NULL FROM generate_series(1, %s) g",
    "Slug": "CREATE TABLE keyed_slug (code varchar(40) PRIMARY KEY, value int NOT NULL,"
    " doubled bigint); INSERT INTO keyed_slug SELECT md5(g::text), g, NULL"
    " FROM generate_series(1, %s) g",
    "Line": "CREATE TABLE keyed_line (order_no int, line_no int, value int NOT NULL,"
    " doubled bigint, PRIMARY KEY (order_no, line_no)); INSERT INTO keyed_line"
    " SELECT g / 7, g %% 7, g, NULL FROM generate_series(1, %s) g",
    "Loose": "CREATE TABLE keyed_loose (id int NOT NULL, value int NOT NULL, doubled bigint);"
    " INSERT INTO keyed_loose SELECT g, g, NULL FROM generate_series(1, %s) g",
}
SET = "doubled = value * 2"


def _keyed(shop: ShopCopy, model: str, rows: int) -> str:
    shop.env["SHOP_EXTRA_APPS"] = "keyed"
    shop.query(TABLES[model], [rows])
    table = f"keyed_{model.lower()}"
    shop.query(f"ANALYZE {table}")
    return table


def _wrong(shop: ShopCopy, table: str) -> int:
    query = f"SELECT count(*) FROM {table} WHERE doubled IS DISTINCT FROM value * 2"
    return int(shop.query(query)[0][0])


@pytest.mark.parametrize("model", ["Token", "Slug", "Line"])
def test_uuid_text_and_composite_keys_in_key_order(shop: ShopCopy, model: str) -> None:
    table = _keyed(shop, model, 6_000)
    result = shop.cli("start", f"keyed.{model}", "--set", SET, "--max-batch-size", "500")
    assert result.returncode == 0, result.stderr
    assert _wrong(shop, table) == 0
    batches = shop.query(
        "SELECT count(*), sum(rows), count(DISTINCT lo_key), count(*) FILTER (WHERE hi_key IS NULL)"
        " FROM schemaops_backfill_batch WHERE state = 'done'"
    )[0]
    assert batches[0] >= 12 and batches[1] == 6_000 and batches[2] == batches[0]
    assert batches[3] == 1  # only the last range runs to the last key
    assert shop.query("SELECT remaining, state FROM schemaops_backfill_run")[0] == (0, "finished")
    again = shop.cli("start", f"keyed.{model}", "--set", SET)
    assert "already finished" in again.stdout


def test_a_failing_range_is_split_at_a_probed_middle_key(shop: ShopCopy) -> None:
    table = _keyed(shop, "Line", 3_000)
    locker = shop.connect()
    locker.autocommit = False
    with locker.cursor() as cur:  # one row in the middle stays locked for a while
        cur.execute("SELECT 1 FROM keyed_line WHERE order_no = 200 AND line_no = 3 FOR UPDATE")
    proc = shop.popen(
        "start", "keyed.Line", "--set", SET, "--batch-size", "1000", "--max-batch-size", "1000",
        "--lock-timeout", "50ms",
    )  # fmt: skip
    time.sleep(4)
    locker.rollback()
    locker.close()
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "split into" in err
    assert _wrong(shop, table) == 0
    done = shop.query(
        "SELECT lo_key, hi_key, rows FROM schemaops_backfill_batch WHERE state = 'done' ORDER BY lo"
    )
    ranges = [(_ints(lo), _ints(hi) if hi else (1 << 30,), rows) for lo, hi, rows in done]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))  # key order, no gap
    (locked,) = [r for r in ranges if r[0] <= (200, 3) < r[1]]
    assert locked[2] < 1000, err  # the range with the locked row ran split


def _ints(key: list[str]) -> tuple[int, ...]:
    return tuple(int(v) for v in key)


def test_a_table_without_a_usable_key_is_one_line_and_exit_2(shop: ShopCopy) -> None:
    _keyed(shop, "Loose", 100)
    for extra in ((), ("--dry-run",)):
        result = shop.cli("start", "keyed.Loose", "--set", SET, *extra)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            "schemaops: error: keyed_loose has no usable key: no valid unique btree index on"
            " its primary key (id), so it cannot be walked in key order; create one (CREATE"
            " UNIQUE INDEX CONCURRENTLY) and start again"
        ]


def test_dry_run_samples_the_first_key_range(shop: ShopCopy) -> None:
    table = _keyed(shop, "Token", 2_000)
    result = shop.cli(
        "start", "keyed.Token", "--set", SET, "--batch-size", "300", "--dry-run", "-v"
    )
    assert result.returncode == 0, result.stderr
    assert "sample batch" in result.stdout and "300 rows in" in result.stdout, result.stdout
    assert '"id" >= ' in result.stdout and "::uuid" in result.stdout
    assert "two batches, even keys then odd keys" not in result.stdout
    assert _wrong(shop, table) == 2_000  # rolled back
