"""The final verification sweep: count the rows that still do not match, range by range.

Each range is its own short read (no long snapshot holding back vacuum), and rows
inserted after the run started with the old shape show up here instead of being
silently missed. The declarative form sweeps the table's physical blocks as it is
when the sweep starts (``ctid`` ranges: a TID range scan reads each block once);
key ranges over an updated table would make the planner scan the whole table once
per range (stale statistics) or walk the index over old and new row versions. Its
ranges are shared by two readers, the worker's connection and one more (PostgreSQL 15
cannot run a TID range scan in parallel itself), so the sweep takes about half the
time where the server has a core to spare. A partitioned table is swept leaf by leaf
(its parent has no blocks of its own), every leaf it has when the sweep starts, so rows
in a partition attached or filled after the start are counted too. The Python form
sweeps key ranges up to the current ``max(pk)`` through its queryset.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections
from django.db.backends.postgresql.psycopg_any import sql  # the driver Django uses

from schemaops.backfill import batching, keys, ledger
from schemaops.backfill import spec as spec_module
from schemaops.backfill.spec import Spec

log = logging.getLogger("schemaops.backfill")
SWEEP_STEP = 1_000_000  # keys per range (Python form)
SWEEP_BLOCKS = 8_192  # 64 MiB of table per range (declarative form)
SWEEP_READERS = 2  # connections that share the block ranges


def remaining_rows(spec: Spec, lo: int, alias: str, run_id: int = 0) -> int | None:
    """Rows with ``pk >= lo`` that still need the update; None if the Backfill cannot tell."""
    if spec.non_idempotent:
        return uncovered_rows(spec, lo, run_id, alias)
    if spec.kind == "python" and spec.backfill is not None:
        probe = spec.backfill.pending(spec.backfill.queryset().using(alias))
        if probe is None:
            return None
    if spec.backfill is None:
        return sweep_blocks_shared(spec, lo, alias)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT max({}) FROM {}").format(
                sql.Identifier(spec.pk_column), sql.Identifier(spec.db_table)
            )
        )
        top = cursor.fetchone()[0]
        if top is None:
            return 0
        return sum(_count(spec, rng, cursor) for rng in batching.sweep_ranges(lo, top, SWEEP_STEP))


def _count(spec: Spec, rng: batching.Range, cursor: Any) -> int:
    assert spec.backfill is not None
    queryset = spec.backfill.queryset().using(cursor.db.alias)
    pending = spec.backfill.pending(queryset.filter(pk__gte=rng.lo, pk__lt=rng.hi))
    return pending.count() if pending is not None else 0


def sweep_blocks(spec: Spec, lo: int, cursor: Any, step: int = SWEEP_BLOCKS) -> int:
    """Rows with ``pk >= lo`` still not matching (declarative form), counted ``step``
    blocks at a time over the table as it is now; one statement per range, autocommit."""
    return _count_ranges(spec, lo, leaf_block_ranges(spec, cursor, step), cursor)


def sweep_blocks_shared(
    spec: Spec, lo: int, alias: str, step: int = SWEEP_BLOCKS, readers: int = SWEEP_READERS
) -> int:
    """:func:`sweep_blocks`, its ranges dealt out to ``readers`` connections: this
    thread's own and one per extra thread (each closed when its share is done)."""
    with connections[alias].cursor() as cursor:
        ranges = leaf_block_ranges(spec, cursor, step)
    shares = [ranges[i::readers] for i in range(max(1, min(readers, len(ranges))))]

    def read(share: Sequence[Blocks]) -> int:
        with connections[alias].cursor() as cursor:
            return _count_ranges(spec, lo, share, cursor)

    def read_elsewhere(share: Sequence[Blocks]) -> int:
        try:
            return read(share)
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=max(1, len(shares) - 1)) as pool:
        others = [pool.submit(read_elsewhere, share) for share in shares[1:]]
        return read(shares[0]) + sum(future.result() for future in others)


Blocks = tuple[str, batching.Range]  # a relation (the table or one leaf) and its blocks


def _count_ranges(spec: Spec, lo: int, ranges: Sequence[Blocks], cursor: Any) -> int:
    return sum(_count_blocks(spec, lo, table, rng, cursor) for table, rng in ranges)


def leaf_block_ranges(spec: Spec, cursor: Any, step: int = SWEEP_BLOCKS) -> list[Blocks]:
    """The block ranges of every relation holding the table's rows: the table itself, or
    each leaf partition of a partitioned table."""
    return [
        (table, rng)
        for table in keys.leaves(cursor, spec.db_table)
        for rng in block_ranges(spec, cursor, step, table)
    ]


def block_ranges(
    spec: Spec, cursor: Any, step: int = SWEEP_BLOCKS, table: str = ""
) -> Sequence[batching.Range]:
    """The blocks of the table (or of ``table``, one of its leaves) as it is now, cut
    into ranges of ``step`` blocks."""
    cursor.execute(
        "SELECT pg_relation_size(to_regclass(quote_ident(%s)))"
        " / current_setting('block_size')::int",
        [table or spec.db_table],
    )
    blocks = int(cursor.fetchone()[0] or 0)
    return batching.sweep_ranges(0, blocks - 1, step) if blocks else []


def _count_blocks(spec: Spec, lo: int, table: str, blocks: batching.Range, cursor: Any) -> int:
    cursor.execute(
        sql.SQL(
            "SELECT count(*) FROM {t} WHERE ctid >= {first}::tid AND ctid < {end}::tid"
            " AND {from_lo} AND {todo}"
        )
        .format(
            t=sql.Identifier(table),
            first=sql.Literal(f"({blocks.lo},0)"),
            end=sql.Literal(f"({blocks.hi},0)"),
            # Every row of a key other than one integer: its run started at the first key.
            from_lo=sql.SQL("true")
            if spec.key_columns
            else sql.SQL("{} >= {}").format(sql.Identifier(spec.pk_column), sql.Literal(lo)),
            todo=spec_module.pending_predicate(spec),
        )
        .as_string(cursor.connection)
    )
    return int(cursor.fetchone()[0])


_DONE_SQL = (
    "SELECT part, lo, hi FROM schemaops_backfill_batch WHERE run_id = %s AND state = 'done'"
    " ORDER BY part, lo"
)


def uncovered_rows(spec: Spec, lo: int, run_id: int, alias: str) -> int:
    """Rows with ``pk >= lo`` matching the ``--where`` that no done batch of their part
    covers: the sweep of a non-idempotent update, which cannot re-evaluate it. A finished
    run has one gap per part, after its last key (rows added since the start)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT parts, last_key, partitions FROM schemaops_backfill_run WHERE id = %s",
            [run_id],
        )
        parts, last_key, partitions = cursor.fetchone()
        partitions = ledger.json_value(partitions)
        if spec.keyset is not None and partitions:  # each leaf: rows after its last key
            lasts = {leaf.table: leaf.last for leaf in map(ledger.Leaf.of, partitions)}
            return sum(
                _count_after(spec, spec.keyset.on(table), lasts.get(table), cursor)
                for table in keys.leaves(cursor, spec.db_table)
            )
        if spec.keyset is not None:  # every cut range is a batch: rows after the last key
            return _count_after(spec, spec.keyset, ledger.json_value(last_key), cursor)
        cursor.execute(_DONE_SQL, [run_id])
        done: dict[int, list[batching.Range]] = {part: [] for part in range(parts)}
        for part, start, end in cursor.fetchall():
            done[part].append(batching.Range(start, end))
        return sum(
            _count_keys(spec, gap, part, parts, cursor)
            for part, ranges in done.items()
            for gap in batching.gaps(ranges, lo)
        )


def _count_after(spec: Spec, keyset: Any, last_key: Any, cursor: Any) -> int:
    after = (
        sql.SQL("{} > {}").format(keyset.row, keyset.value(tuple(last_key)))
        if last_key is not None
        else sql.SQL("true")
    )
    cursor.execute(
        sql.SQL("SELECT count(*) FROM {} WHERE {} AND {}")
        .format(sql.Identifier(keyset.table), after, spec_module.pending_predicate(spec))
        .as_string(cursor.connection)
    )
    return int(cursor.fetchone()[0])


def _count_keys(spec: Spec, rng: batching.Range, part: int, parts: int, cursor: Any) -> int:
    cursor.execute(
        sql.SQL("SELECT count(*) FROM {t} WHERE {pk} >= {lo} AND {pk} < {hi}{of_part} AND {todo}")
        .format(
            t=sql.Identifier(spec.db_table),
            pk=sql.Identifier(spec.pk_column),
            lo=sql.Literal(rng.lo),
            hi=sql.Literal(rng.hi),
            of_part=spec_module.part_predicate(spec, part, parts),
            todo=spec_module.pending_predicate(spec),
        )
        .as_string(cursor.connection)
    )
    return int(cursor.fetchone()[0])


def finalize(run_id: int, alias: str) -> str:
    """Sweep, then mark the run finished (or failed if batches failed). Returns the new state."""
    from schemaops.backfill.models import Batch, Run

    run = Run.objects.using(alias).get(pk=run_id)
    if run.state != "active":
        return str(run.state)
    batches = Batch.objects.using(alias).filter(run_id=run_id)
    if batches.filter(state__in=["pending", "running"]).exists():
        return "busy"
    failed = batches.filter(state="failed").count()
    verify = run.options.get("verify", True)
    remaining = remaining_rows(spec_module.load(run), run.lo, alias, run_id) if verify else None
    state = "failed" if failed else "finished"
    error = f"{failed} batches failed" if failed else ""
    updated = (
        Run.objects.using(alias)
        .filter(pk=run_id, state="active")
        .update(
            state=state,
            remaining=remaining,
            finished_at=_now(),
            last_error=error or run.last_error,
            throttle_state="normal",  # nothing is throttled any more
            throttle_reason="",
        )
    )
    log.info(
        f"event=finished run={run_id} state={state} remaining={remaining} failed_batches={failed}"
    )
    return state if updated else str(Run.objects.using(alias).get(pk=run_id).state)


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
