"""Partitioned tables: each batch updates one leaf partition, leaves are walked one by one.

The tables belong to the ``keyed`` test app (unmanaged models): range-partitioned by a
date with an integer key (one month sub-partitioned by hash, and a default partition),
list-partitioned, and hash-partitioned on a UUID key. Their integer ids interleave
across partitions, so a range of ids over the parent would read every partition.
"""

from __future__ import annotations

import json
import signal
from dataclasses import replace
from typing import Any

import pytest
from backfill_support import ShopCopy, driver_connect, wait_for

from schemaops.backfill import spec as spec_module
from schemaops.backfill import verify
from schemaops.backfill.batching import Range
from schemaops.backfill.keys import KeyRange, Keyset

# Partition leaves walked in SQL: once per CI (tests/backfill/test_embedded.py runs the engine on
# both pairs).
pytestmark = pytest.mark.once

TABLES = {
    # ids 1..n spread over three months: January, February (two hash sub-partitions)
    # and March, which only the default partition takes.
    "Event": """
CREATE TABLE keyed_event (id bigint NOT NULL, day date NOT NULL, value int NOT NULL,
  doubled bigint, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
CREATE TABLE keyed_event_2026_01 PARTITION OF keyed_event
  FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE keyed_event_2026_02 PARTITION OF keyed_event
  FOR VALUES FROM ('2026-02-01') TO ('2026-03-01') PARTITION BY HASH (id);
CREATE TABLE keyed_event_2026_02_h0 PARTITION OF keyed_event_2026_02
  FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE keyed_event_2026_02_h1 PARTITION OF keyed_event_2026_02
  FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE keyed_event_default PARTITION OF keyed_event DEFAULT;
INSERT INTO keyed_event SELECT g, date '2026-01-01' + (g %% 88), g, NULL
  FROM generate_series(1, %s) g""",
    "Region": """
CREATE TABLE keyed_region (id int NOT NULL, region varchar(10) NOT NULL, value int NOT NULL,
  doubled bigint, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE keyed_region_eu PARTITION OF keyed_region FOR VALUES IN ('eu');
CREATE TABLE keyed_region_us PARTITION OF keyed_region FOR VALUES IN ('us', 'ca');
CREATE TABLE keyed_region_other PARTITION OF keyed_region DEFAULT;
INSERT INTO keyed_region SELECT g, (ARRAY['eu', 'us', 'ca', 'jp'])[1 + g %% 4], g, NULL
  FROM generate_series(1, %s) g""",
    "Shard": """
CREATE TABLE keyed_shard (id uuid PRIMARY KEY, value int NOT NULL, doubled bigint)
  PARTITION BY HASH (id);
CREATE TABLE keyed_shard_0 PARTITION OF keyed_shard FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE keyed_shard_1 PARTITION OF keyed_shard FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE keyed_shard_2 PARTITION OF keyed_shard FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO keyed_shard SELECT gen_random_uuid(), g, NULL FROM generate_series(1, %s) g""",
}
LEAVES = {
    "Event": {
        "keyed_event_2026_01",
        "keyed_event_2026_02_h0",
        "keyed_event_2026_02_h1",
        "keyed_event_default",
    },
    "Region": {"keyed_region_eu", "keyed_region_us", "keyed_region_other"},
    "Shard": {"keyed_shard_0", "keyed_shard_1", "keyed_shard_2"},
}
KEY_TYPES = {"Event": "bigint", "Region": "integer", "Shard": "uuid"}
SET = "doubled = value * 2"
# Applied to a row twice, it shows: doubled is value once, 2 * value twice, NULL never.
ONCE = ("--set", "doubled = coalesce(doubled, 0) + value", "--non-idempotent")


def _partitioned(shop: ShopCopy, model: str, rows: int) -> str:
    shop.env["SHOP_EXTRA_APPS"] = "keyed"
    shop.query(TABLES[model], [rows])
    table = f"keyed_{model.lower()}"
    shop.query(f"ANALYZE {table}")
    return table


def _wrong(shop: ShopCopy, table: str, expected: str = "value * 2") -> int:
    query = f"SELECT count(*) FROM {table} WHERE doubled IS DISTINCT FROM {expected}"
    return int(shop.query(query)[0][0])


def _done(shop: ShopCopy) -> list[tuple[Any, ...]]:
    return shop.query(
        "SELECT leaf, lo_key, hi_key, rows FROM schemaops_backfill_batch WHERE state = 'done'"
        " ORDER BY lo"
    )


def _spec(model: str, table: str) -> spec_module.Spec:
    """The spec of a ``--set SET`` run of ``model`` as ``start`` stores it: a partitioned
    table is walked in key order, so even its integer key has a keyset."""
    columns = ("id",)
    keyset = Keyset(table, columns, (KEY_TYPES[model],))
    return spec_module.Spec(
        f"keyed.{model}", "sql", table, "id", (("doubled", "value * 2"),),
        key_columns=columns, keyset=keyset,
    )  # fmt: skip


def _relations(plan: Any) -> set[str]:
    """Every relation a plan (EXPLAIN FORMAT JSON) reads or writes."""
    found: set[str] = set()
    if isinstance(plan, dict):
        if "Relation Name" in plan:
            found.add(plan["Relation Name"])
        for value in plan.values():
            found |= _relations(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _relations(value)
    return found


def _explain(cur: Any, statement: str) -> set[str]:
    cur.execute("EXPLAIN (FORMAT JSON) " + statement)
    plan = cur.fetchone()[0]
    return _relations(json.loads(plan) if isinstance(plan, str) else plan)


@pytest.mark.parametrize("model", ["Event", "Region", "Shard"])
def test_each_batch_updates_one_leaf_partition(shop: ShopCopy, model: str) -> None:
    table = _partitioned(shop, model, 6_000)
    result = shop.cli("start", f"keyed.{model}", "--set", SET, "--max-batch-size", "400")
    assert result.returncode == 0, result.stderr
    assert _wrong(shop, table) == 0
    assert shop.query("SELECT remaining, state FROM schemaops_backfill_run")[0] == (0, "finished")
    done = _done(shop)
    assert sum(rows for *_, rows in done) == 6_000  # each row updated by exactly one batch
    assert {leaf for leaf, *_ in done} == LEAVES[model]
    # Leaf by leaf: all of one leaf's batches before the next leaf's (ordinals increase).
    order = [leaf for leaf, *_ in done]
    assert [leaf for i, leaf in enumerate(order) if i == 0 or order[i - 1] != leaf] == sorted(
        LEAVES[model], key=order.index
    )
    for leaf in LEAVES[model]:  # per leaf, one range runs to its last key
        assert sum(1 for lf, _, hi, _ in done if lf == leaf and hi is None) == 1
    # EXPLAIN of each batch's own statement: it touches its leaf and no other relation.
    spec = _spec(model, table)
    lasts = {
        leaf: shop.query(f"SELECT id::text FROM {leaf} ORDER BY id DESC LIMIT 1")[0][0]
        for leaf in LEAVES[model]
    }
    conn = driver_connect(shop)
    try:
        with conn.cursor() as cur:
            for leaf, lo_key, hi_key, _ in done:
                keys = KeyRange(
                    tuple(lo_key), tuple(hi_key) if hi_key else None, (lasts[leaf],), leaf
                )
                statement = spec_module.batch_statement(spec, Range(0, 1, keys))
                assert _explain(cur, statement.as_string(conn)) == {leaf}
            # What per-partition batching avoids: a key range over the parent reads every leaf.
            lo_key, hi_key = done[0][1], done[0][2]
            over_parent = KeyRange(tuple(lo_key), tuple(hi_key), (lasts[done[0][0]],))
            statement = spec_module.batch_statement(spec, Range(0, 1, over_parent))
            assert _explain(cur, statement.as_string(conn)) >= LEAVES[model]
    finally:
        conn.close()


def test_resume_after_a_kill_mid_partition_applies_each_row_once(
    shop: ShopCopy, copy_alias: str
) -> None:
    table = _partitioned(shop, "Event", 20_000)
    shop.query(
        "CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN PERFORM pg_sleep(0.0003); RETURN NEW; END $$"
    )
    shop.query(
        "CREATE TRIGGER slow BEFORE UPDATE ON keyed_event FOR EACH ROW EXECUTE FUNCTION slow_row()"
    )
    args = ("start", "keyed.Event", *ONCE, "--batch-size", "200", "--max-batch-size", "200")
    proc = shop.popen(*args)
    # Killed inside the second leaf: some of its batches done, others not.
    wait_for(
        lambda: (
            shop.query(
                "SELECT count(*) FROM schemaops_backfill_batch WHERE state = 'done'"
                " AND leaf = 'keyed_event_2026_02_h0'"
            )[0][0]
            >= 2
        ),
        90,
        0.05,
    )
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Leaves are walked in name order: January, February's two hash halves, the default.
    (partition,) = shop.query("SELECT partition FROM schemaops_backfill_run")[0]
    assert partition == 1, "killed in the second leaf"
    left = "SELECT count(*) FROM keyed_event_2026_02_h0 WHERE doubled IS NULL"
    assert shop.query(left)[0][0] > 0, "the second leaf was not finished"
    assert shop.query("SELECT count(*) FROM keyed_event_2026_01 WHERE doubled IS NULL") == [(0,)]
    result = shop.cli(*args)
    assert result.returncode == 0, result.stderr
    assert _wrong(shop, table, "value") == 0  # none lost, none applied twice
    assert shop.query("SELECT remaining, state FROM schemaops_backfill_run")[0] == (0, "finished")
    assert sum(rows for *_, rows in _done(shop)) == 20_000
    # The ledger's sweep (a non-idempotent update cannot be re-evaluated) counts rows after
    # each leaf's last key at the start, and every row of a leaf that had none.
    shop.query(
        "CREATE TABLE keyed_event_2026_04 PARTITION OF keyed_event"
        " FOR VALUES FROM ('2026-04-01') TO ('2026-05-01');"
        " INSERT INTO keyed_event SELECT g, date '2026-04-02', g, NULL"
        " FROM generate_series(30001, 30010) g;"
        " INSERT INTO keyed_event VALUES (40000, date '2026-01-05', 1, NULL),"
        " (5, date '2026-04-03', 1, NULL)"
    )
    spec = replace(_spec("Event", table), non_idempotent=True)
    assert _uncovered(shop, spec, copy_alias) == 12


def _uncovered(shop: ShopCopy, spec: spec_module.Spec, alias: str) -> int:
    (run_id,) = shop.query("SELECT id FROM schemaops_backfill_run")[0]
    return verify.uncovered_rows(spec, 0, run_id, alias)


def test_the_sweep_counts_every_leaf_and_rows_added_since(shop: ShopCopy) -> None:
    """The sweep reads each leaf (a partitioned parent has no blocks of its own), including
    a partition attached after the start."""
    table = _partitioned(shop, "Region", 3_000)
    result = shop.cli("start", "keyed.Region", "--set", SET)
    assert result.returncode == 0, result.stderr
    spec = _spec("Region", table)
    conn = driver_connect(shop)
    try:
        with conn.cursor() as cur:
            assert verify.sweep_blocks(spec, 1, cur) == 0
            cur.execute("UPDATE keyed_region SET doubled = -1 WHERE id % 10 = 3")
            wrong = _wrong(shop, table)
            assert wrong == 300
            assert verify.sweep_blocks(spec, 1, cur, step=1) == wrong
            cur.execute(
                "CREATE TABLE keyed_region_nz PARTITION OF keyed_region FOR VALUES IN ('nz');"
                " INSERT INTO keyed_region SELECT g, 'nz', g, NULL"
                " FROM generate_series(10001, 10050) g"
            )
            assert verify.sweep_blocks(spec, 1, cur) == wrong + 50
    finally:
        conn.close()


def test_a_partition_key_cannot_be_set(shop: ShopCopy) -> None:
    _partitioned(shop, "Region", 100)
    for extra in ((), ("--dry-run",)):
        result = shop.cli("start", "keyed.Region", "--set", "region = 'eu'", *extra)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            "schemaops: error: keyed_region is partitioned by region: a backfill updates one"
            " partition per batch and cannot move rows between partitions; leave the"
            " partition key out of --set"
        ]
