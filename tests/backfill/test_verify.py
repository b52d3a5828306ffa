"""The verification sweep of the declarative form: block ranges, each row counted once."""

from __future__ import annotations

from backfill_support import SET_CENTS, ShopCopy, driver_connect

from schemaops.backfill import spec as spec_module
from schemaops.backfill import verify


def test_block_sweep_counts_every_pending_row_once(shop: ShopCopy) -> None:
    shop.seed(3_000)  # 3,000 rows, total_cents NULL: every row pending
    spec = spec_module.resolve("orders.Order", (SET_CENTS,), None)
    conn = driver_connect(shop)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_relation_size('orders_order') / 8192")
            assert cur.fetchone()[0] > 6  # several ranges of 3 blocks below
            assert verify.sweep_blocks(spec, 1, cur, step=3) == 3_000
            assert verify.sweep_blocks(spec, 1, cur) == 3_000  # one range
            (lo,) = shop.query("SELECT min(id) FROM orders_order WHERE id > 1000")[0]
            above = shop.query("SELECT count(*) FROM orders_order WHERE id >= %s", [lo])[0][0]
            assert verify.sweep_blocks(spec, lo, cur, step=3) == above
            # Right rows drop out, wherever their new versions landed; new wrong rows count.
            cur.execute("UPDATE orders_order SET total_cents = (total * 100)::bigint")
            cur.execute("UPDATE orders_order SET total_cents = -1 WHERE id % 100 = 7")
            wrong = shop.wrong_rows()
            assert 0 < wrong < 100
            assert verify.sweep_blocks(spec, 1, cur, step=3) == wrong
    finally:
        conn.close()


def test_shared_sweep_counts_what_one_reader_counts(shop: ShopCopy, copy_alias: str) -> None:
    """The block ranges dealt out to several connections add up to the single sweep."""
    shop.seed(3_000)
    shop.query("UPDATE orders_order SET total_cents = (total * 100)::bigint WHERE id %% 3 = 0")
    wrong = shop.wrong_rows()
    assert 0 < wrong < 3_000
    spec = spec_module.resolve("orders.Order", (SET_CENTS,), None)
    for readers in (1, 2, 3):
        assert verify.sweep_blocks_shared(spec, 1, copy_alias, step=3, readers=readers) == wrong
    # Every extra reader closed its connection; only the caller's is left.
    (sessions,) = shop.query(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid()"
    )[0]
    assert sessions == 1
