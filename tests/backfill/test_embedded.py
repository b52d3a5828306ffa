"""The CLI with no broker: the same Celery task runs in-process (``start`` just works)."""

from __future__ import annotations

import json

import pytest
from backfill_support import SET_CENTS, ShopCopy, assert_exactly_once
from outage_support import shop_on_cluster


def _runs(shop: ShopCopy) -> list[dict]:
    result = shop.cli("status", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["runs"]


def test_declarative_backfill_fills_every_row_exactly_once(shop: ShopCopy) -> None:
    shop.seed(20_000)
    shop.query("UPDATE orders_order SET total_cents = (total * 100)::bigint WHERE id < 500")
    todo = shop.wrong_rows()
    result = shop.cli("start", "orders.Order", "--set", SET_CENTS, "--batch-size", "500")
    assert result.returncode == 0, result.stderr
    assert "no Celery broker configured; running in this process" in result.stdout
    assert shop.wrong_rows() == 0
    (run,) = _runs(shop)
    assert run["state"] == "finished" and run["remaining"] == 0
    assert run["rows_updated"] == todo  # rows already right were not touched
    assert run["batches"]["done"] > 5 and run["batches"]["failed"] == 0
    assert_exactly_once(shop, run["id"], todo)
    assert "event=batch" in result.stderr and "event=finished" in result.stderr  # log lines

    again = shop.cli("start", "orders.Order", "--set", SET_CENTS)
    assert again.returncode == 0 and "already finished; nothing to do" in again.stdout
    assert len(_runs(shop)) == 1


def test_where_limits_the_rows(shop: ShopCopy) -> None:
    shop.seed(3_000)
    shop.query("UPDATE orders_order SET status = 'paid' WHERE id %% 2 = 0")
    result = shop.cli(
        "start", "orders.Order", "--set", "note = 'paid order'", "--where", "status = 'paid'"
    )
    assert result.returncode == 0, result.stderr
    counts = dict(
        shop.query(
            "SELECT status, count(*) FILTER (WHERE note = 'paid order') "
            "FROM orders_order GROUP BY status"
        )
    )
    assert counts["new"] == 0 and counts["paid"] > 1000


def test_python_backfill_by_name(shop: ShopCopy) -> None:
    shop.seed(5_000)
    result = shop.cli("start", "orders.FillTotalCents", "--batch-size", "300")
    assert result.returncode == 0, result.stderr
    assert shop.wrong_rows() == 0
    (run,) = _runs(shop)
    assert run["target"] == "orders.FillTotalCents" and run["remaining"] == 0
    assert_exactly_once(shop, run["id"], 5_000 + 500 - (5_500 // 11))


def test_two_embedded_workers_share_the_ranges(shop: ShopCopy) -> None:
    shop.seed(20_000)
    result = shop.cli(
        "start", "orders.Order", "--set", SET_CENTS, "--workers", "2", "--max-batch-size", "500"
    )
    assert result.returncode == 0, result.stderr
    assert shop.wrong_rows() == 0
    workers = shop.query("SELECT count(DISTINCT worker) FROM schemaops_backfill_batch")[0][0]
    assert workers == 2
    run_id = shop.query("SELECT id FROM schemaops_backfill_run")[0][0]
    assert_exactly_once(shop, run_id, 20_000 + 2_000 - (22_000 // 11))


def test_dry_run_measures_and_writes_nothing(shop: ShopCopy) -> None:
    shop.seed(5_000)
    result = shop.cli(
        "start", "orders.Order", "--set", SET_CENTS, "--dry-run", "--batch-size", "1000"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "rows to touch 5000" in out
    assert 'UPDATE "orders_order" SET "total_cents"' in out and "Index Scan" in out
    assert "rows in" in out and "WAL bytes (rolled back)" in out and "projected:" in out
    assert "even keys then odd keys" in out
    assert shop.wrong_rows() == 5_000
    assert shop.query("SELECT count(*) FROM schemaops_backfill_run")[0][0] == 0
    plain = shop.cli("start", "orders.Order", "--set", SET_CENTS, "--dry-run", "--no-interleave")
    assert plain.returncode == 0 and "odd keys" not in plain.stdout


def test_status_renders_a_bar(shop: ShopCopy) -> None:
    shop.seed(1_000)
    assert shop.cli("start", "orders.Order", "--set", SET_CENTS).returncode == 0
    result = shop.cli("status")
    assert result.returncode == 0
    assert "[####" in result.stdout and "100%" in result.stdout
    assert "verification: 0 rows still do not match" in result.stdout


def test_bad_input_exits_2_with_one_line(shop: ShopCopy) -> None:
    cases = [
        (("start", "orders.Ordr", "--set", SET_CENTS), "no model 'Ordr'"),
        (("start", "nope.Order", "--set", SET_CENTS), "unknown app 'nope'"),
        (("start", "orders.Order", "--set", "totl_cents = 1"), "no field 'totl_cents'"),
        (("start", "orders.Order", "--set", "total_cents = (("), "cannot parse SQL"),
        (
            ("start", "orders.Order", "--set", SET_CENTS, "--lock-timeout", "soon"),
            "is not a duration",
        ),
        (("pause", "999"), "no backfill run 999"),
    ]
    for args, fragment in cases:
        result = shop.cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and fragment in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_broker_configured_but_down_exits_2(shop: ShopCopy) -> None:
    shop.seed(100)
    result = shop.cli(
        "start",
        "orders.Order",
        "--set",
        SET_CENTS,
        CELERY_BROKER_URL="redis://:hunter2@127.0.0.1:1/0",
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "broker" in lines[0] and "unreachable" in lines[0]
    assert "hunter2" not in result.stderr
    # Nothing was created that nobody will run: the broker is checked first.
    assert result.stdout == ""
    assert shop.query("SELECT count(*) FROM schemaops_backfill_run") == [(0,)]


def test_python_dry_run_explains_the_orm_update(shop: ShopCopy) -> None:
    shop.seed(2_000)
    result = shop.cli("start", "orders.FillTotalCents", "--dry-run", "--batch-size", "500")
    assert result.returncode == 0, result.stderr
    assert "rows to touch 2000" in result.stdout
    assert 'batch statement: UPDATE "orders_order" SET "total_cents"' in result.stdout
    assert "Update on orders_order" in result.stdout and "(rolled back)" in result.stdout
    assert shop.wrong_rows() == 2_000


def test_no_verify_skips_the_sweep(shop: ShopCopy) -> None:
    shop.seed(1_000)
    result = shop.cli("start", "orders.Order", "--set", SET_CENTS, "--no-verify")
    assert result.returncode == 0, result.stderr
    (run,) = _runs(shop)
    assert run["state"] == "finished" and run["remaining"] is None
    assert "remaining=None" in result.stderr and shop.wrong_rows() == 0


def test_rows_added_after_the_start_are_reported_by_the_sweep(
    shop: ShopCopy, redis_available: str
) -> None:
    import redis

    shop.seed(3_000)
    # Create the run without running it: its task goes to a queue nobody reads.
    queue = "schemaops-nobody-verify"
    created = shop.cli(
        "start",
        "orders.Order",
        "--set",
        SET_CENTS,
        "--queue",
        queue,
        "--no-wait",
        CELERY_BROKER_URL=redis_available,
    )
    redis.Redis.from_url(redis_available).delete(queue)
    assert created.returncode == 0, created.stderr
    # Old code keeps inserting rows without the new column, above the run's last key.
    shop.query(
        "INSERT INTO orders_order (customer_id, created_at, status, total, note)"
        " SELECT customer_id, now(), 'new', 1.5, '' FROM orders_order LIMIT 7"
    )
    result = shop.cli("resume", "1", "--wait")
    assert result.returncode == 1
    assert "7 rows still do not match after the verification sweep" in result.stderr
    (run,) = _runs(shop)
    assert run["state"] == "finished" and run["remaining"] == 7
    assert shop.wrong_rows() == 7


def _hot_updates(shop: ShopCopy) -> tuple[int, int]:
    """(HOT updates, updates) of orders_order, once the CLI's statistics have arrived."""
    rows = shop.query(
        "SELECT n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables WHERE relname = 'orders_order'"
    )
    return int(rows[0][0]), int(rows[0][1])


@pytest.mark.once
def test_interleaved_parts_make_updates_hot_on_full_pages() -> None:
    """On a freshly packed table no update can stay on its page; the second part of each
    range finds room where the first part's old versions were pruned.

    Pruning needs the first part's old versions dead to every snapshot, and a snapshot's
    horizon spans the whole server: any transaction running elsewhere on a shared server
    (another test, the other CI pass) holds them back. So the shop runs on a cluster of
    the test's own. Autovacuum is off for the table (an autoanalyze takes a snapshot), and
    the interleaved run still gets up to three tries (a claim made ahead takes one too);
    the plain run never makes HOT updates on packed pages.
    """
    with shop_on_cluster() as (shop, _cluster):
        shop.seed(20_000)
        shop.query("ALTER TABLE orders_order SET (autovacuum_enabled = off)")
        hot_plain, updates_plain = _hot_run(shop, "--no-interleave")
        assert updates_plain == 20_000
        assert hot_plain < 0.05 * 20_000
        tries = []
        for _ in range(3):
            hot_parts, updates_parts = _hot_run(shop, "--interleave")
            assert updates_parts == 20_000
            tries.append(hot_parts)
            if hot_parts > 0.2 * 20_000:
                break
        assert max(tries) > 0.2 * 20_000, tries


def _hot_run(shop: ShopCopy, option: str) -> tuple[int, int]:
    """(HOT updates, updates) of one backfill of the freshly packed table."""
    import time

    shop.query("UPDATE orders_order SET total_cents = NULL")
    shop.query("VACUUM FULL orders_order")  # every page packed full
    shop.query("SELECT pg_stat_reset_single_table_counters('orders_order'::regclass)")
    result = shop.cli("start", "orders.Order", "--set", SET_CENTS, option)
    assert result.returncode == 0, result.stderr
    assert shop.wrong_rows() == 0
    (run,) = [r for r in _runs(shop) if r["state"] == "finished"][-1:]
    assert run["rows_updated"] == 20_000
    shop.query("DELETE FROM schemaops_backfill_batch; DELETE FROM schemaops_backfill_run")
    deadline = time.monotonic() + 10
    while _hot_updates(shop)[1] < 20_000 and time.monotonic() < deadline:
        time.sleep(0.2)  # statistics reach the server when the CLI's session ends
    return _hot_updates(shop)


def test_one_part_when_an_index_reads_the_column_or_the_backfill_is_python(
    shop: ShopCopy,
) -> None:
    shop.seed(1_000)
    day = "date_trunc('day', created_at)"  # reads the column it sets: limited by --where
    result = shop.cli(
        "start", "orders.Order", "--set", f"created_at = {day}", "--where", f"created_at <> {day}"
    )
    assert result.returncode == 0, result.stderr
    result = shop.cli("start", "orders.FillTotalCents")
    assert result.returncode == 0, result.stderr
    result = shop.cli("start", "orders.Order", "--set", "note = 'x'")
    assert result.returncode == 0, result.stderr
    parts = shop.query("SELECT target, kind, parts FROM schemaops_backfill_run ORDER BY id")
    assert parts == [
        ("orders.Order", "sql", 1),  # created_at is in order_customer_created_idx
        ("orders.FillTotalCents", "python", 1),
        ("orders.Order", "sql", 2),
    ]


def test_tables_not_migrated_to_the_latest_state_are_one_clear_line(shop: ShopCopy) -> None:
    shop.query(
        "DELETE FROM django_migrations WHERE app = 'schemaops_backfill'"
        " AND name = '0002_batch_parts'"
    )
    result = shop.cli("status")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "schemaops: error: the backfill app's tables are out of date (0002_batch_parts not"
        " applied): run `python manage.py migrate schemaops_backfill`"
    ]


def test_a_backfill_class_with_a_small_batch_size_starts_and_finishes(shop: ShopCopy) -> None:
    """``batch_size = 5`` on the class lowers the floor to 5 instead of failing start."""
    shop.seed(300)
    shop.env["SHOP_EXTRA_APPS"] = "keyed"
    result = shop.cli("start", "keyed.FewAtATime")
    assert result.returncode == 0, result.stderr
    assert shop.wrong_rows() == 0
    run = shop.query("SELECT min_batch_size, max_batch_size, state FROM schemaops_backfill_run")
    assert run == [(5, 100_000, "finished")]
    first = shop.query("SELECT hi - lo FROM schemaops_backfill_batch ORDER BY lo LIMIT 1")
    assert first[0][0] <= 6  # five rows (ids have gaps)
    given = shop.cli("start", "keyed.FewAtATime", "--min-batch-size", "20", "--dry-run")
    assert given.returncode == 0, given.stderr
    clash = shop.cli("start", "orders.Order", "--set", "total_cents = 1", "--batch-size", "50",
                     "--min-batch-size", "100")  # fmt: skip
    assert clash.returncode == 2
    assert clash.stderr.strip().splitlines() == [
        "schemaops: error: --batch-size 50 is below --min-batch-size 100"
    ]
