"""The batches table as a work queue: claim a range, checkpoint it, record a failure.

Workers on any number of machines coordinate only through these rows:
- :func:`claim` locks the run row, takes a retriable batch with
  ``FOR UPDATE SKIP LOCKED`` (a pending one whose backoff is over, or a running one
  whose worker is gone: its backend left ``pg_stat_activity`` or its lease ran out),
  else cuts the next range off the run's cursor with a short index probe. A run
  with ``parts > 1`` cuts each range for ``parts`` times the batch size and queues
  its later parts as pending batches; a later part waits while an earlier part of
  the same keys runs (see :func:`schemaops.backfill.control._parts` for why).
- :func:`checkpoint` marks the batch done inside the batch's own transaction, and
  only while the caller still holds the lease, so a range counts exactly once.
- :func:`record_failure` retries with backoff, splits a range at once on a statement
  timeout and after repeated lock timeouts, fails it after repeated errors, and stops
  the run when too many fail.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.backends.postgresql.psycopg_any import sql  # the driver Django uses

from schemaops.backfill import batching
from schemaops.backfill.batching import Range, Rate
from schemaops.backfill.keys import ORDINAL_STEP, Key, KeyRange, Keyset
from schemaops.backfill.throttle import WAITERS_SQL

RUN, BATCH = sql.Identifier("schemaops_backfill_run"), sql.Identifier("schemaops_backfill_batch")
# query canceled (statement_timeout), lock not available, deadlock, serialization failure
TIMEOUT_CODES = {"57014", "55P03", "40P01", "40001"}
STATEMENT_TIMEOUT = "57014"
MAX_ATTEMPTS = 3  # errors other than timeouts
SPLIT_AFTER = 2  # timeouts before a range is halved
MAX_TIMEOUTS = 40  # a one-key range that keeps timing out fails in the end
MAX_FAILED_BATCHES = 5


@dataclass(frozen=True)
class Claim:
    batch_id: int
    rng: Range
    token: str
    size: int | None  # rows the range was cut for; None for a retried range or a later part
    slot_at: datetime | None  # not before this time (global rate limit)
    part: int = 0  # the rows with pk mod run.parts = part


@dataclass(frozen=True)
class Observation:
    """What the last batch of this worker saw; feeds the adaptive batch size."""

    size: int | None
    seconds: float
    timed_out: bool = False
    waiters: int = 0


@dataclass(frozen=True)
class Idle:
    """Nothing to claim: ``state`` is the run's state when it is not active, else
    ``busy`` (ranges still running or in backoff) or ``drained`` (all done)."""

    state: str


_RUN_SQL = sql.SQL(
    "SELECT state, next_lo, hi, batch_size, min_batch_size, max_batch_size, target_seconds,"
    " avg_rows, avg_seconds, max_rows_per_second, lease_seconds, db_table, pk_column, parts,"
    " key_columns, key_types, next_key, last_key, partitions, partition, peak_seconds_per_row"
    " FROM {} WHERE id = %s FOR UPDATE"
).format(RUN)

# A running batch is taken over when its worker's session is gone or its lease ran out,
# but never the one the claiming worker itself has in flight (``id <> %s``): the claim
# made ahead runs while that batch does, and must not mistake it for an orphan. A later
# part of a range waits while an earlier part of the same keys runs: it is meant to
# find that part's old row versions dead, so its own updates can be HOT.
_RETRIABLE_SQL = sql.SQL(
    "SELECT id, lo, hi, part, lo_key, hi_key, leaf FROM {b} b WHERE run_id = %s AND id <> %s AND ("
    " (state = 'pending' AND (available_at IS NULL OR available_at <= now())"
    "   AND NOT (part > 0 AND EXISTS (SELECT 1 FROM {b} e WHERE e.run_id = b.run_id"
    "     AND e.state = 'running' AND e.part < b.part AND e.lo < b.hi AND e.hi > b.lo)))"
    " OR (state = 'running' AND (lease_until < now() OR NOT EXISTS ("
    "   SELECT 1 FROM pg_stat_activity a"
    "   WHERE a.pid = b.backend_pid AND a.backend_start = b.backend_start))))"
    " ORDER BY lo, part LIMIT 1 FOR UPDATE SKIP LOCKED"
).format(b=BATCH)

_TAKE_SQL = sql.SQL(
    "UPDATE {b} SET state = 'running', attempts = attempts + 1, lease_token = %s,"
    " lease_until = now() + make_interval(secs => %s), worker = %s, started_at = now(),"
    " backend_pid = pg_backend_pid(),"
    " backend_start = (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())"
    " WHERE id = %s RETURNING id"
).format(b=BATCH)

_INSERT_SQL = sql.SQL(
    "INSERT INTO {b} (run_id, lo, hi, state, attempts, timeouts, waiters, last_error,"
    " lease_token, lease_until, worker, started_at, backend_pid, backend_start, lo_key, hi_key,"
    " leaf) SELECT %s, %s, %s, 'running', 1, 0, 0, '', %s, now() + make_interval(secs => %s),"
    " %s, now(), pid, backend_start, %s::jsonb, %s::jsonb, %s"
    " FROM pg_stat_activity WHERE pid = pg_backend_pid() RETURNING id"
).format(b=BATCH)

# The other parts of a freshly cut range wait as pending batches, available at once.
_PARTS_SQL = sql.SQL(
    "INSERT INTO {b} (run_id, lo, hi, part, state, attempts, timeouts, waiters, last_error,"
    " worker) SELECT %s, %s, %s, part, 'pending', 0, 0, 0, '', ''"
    " FROM generate_series(1, %s - 1) part"
).format(b=BATCH)


def to_last_result(cursor: Any) -> None:
    """Move to the result of the last statement of a multi-statement execute.

    psycopg2 only keeps that one; psycopg 3 keeps one result per statement and starts
    at the first, so step through them (``nextset`` is not supported by psycopg2).
    """
    from django.db import NotSupportedError

    from schemaops.driver import NotSupportedError as DriverNotSupported

    try:
        while cursor.nextset():
            pass
    except (NotSupportedError, DriverNotSupported):
        pass


def claim(
    cursor: Any, run_id: int, worker: str, seen: Observation | None, in_flight: int | None = None
) -> Claim | Idle:
    """Give this worker one range of the run, or say why there is none (one transaction).

    ``in_flight`` is the batch this worker is running meanwhile (a claim made ahead):
    it is never handed out, whatever its session looks like.
    """
    # A lost claim only means the range is cut again; the batch's own commit is synchronous.
    cursor.execute(sql.SQL("SET LOCAL synchronous_commit = off; ") + _RUN_SQL, [run_id])
    to_last_result(cursor)
    row = cursor.fetchone()
    if row is None or row[0] != "active":
        return Idle(row[0] if row else "cancelled")
    (_, next_lo, hi, size, lo_size, hi_size, target, avg_rows, avg_secs, rps, lease, table, pk) = (
        row[:13]
    )
    parts = int(row[13])
    keyset = _keyset(table, json_value(row[14]), json_value(row[15]))
    next_key, last_key = _key(json_value(row[16])), _key(json_value(row[17]))
    leaves = [Leaf.of(item) for item in json_value(row[18]) or []]
    rate = Rate(avg_rows, avg_secs, float(row[20] or 0.0))
    size, rate = _adapt(size, rate, seen, target, lo_size, hi_size)
    token = str(uuid.uuid4())
    cursor.execute(_RETRIABLE_SQL, [run_id, in_flight if in_flight is not None else -1])
    retry = cursor.fetchone()
    if retry is None:
        # A range holds ``size`` rows for each of its parts.
        if keyset is None:
            rng = _cut(cursor, table, pk, next_lo, hi, size * parts)
        elif leaves:
            rng = _cut_leaves(
                cursor, run_id, keyset, next_lo, next_key, last_key, size, leaves, row[19]
            )
        else:
            rng = _cut_keys(cursor, keyset, next_lo, next_key, last_key, size)
        if rng is None:
            _save_adaptive(cursor, run_id, size, rate, next_lo, 0.0)
            return Idle(_idle_state(cursor, run_id))
        take = sql.SQL("{}), more AS ({}").format(_INSERT_SQL, _PARTS_SQL)
        leaf = rng.keys.table if rng.keys is not None else ""
        params = [run_id, rng.lo, rng.hi, token, lease, worker, *_keys_of(rng), leaf]
        params += [run_id, rng.lo, rng.hi, parts]
        claimed, next_lo, part = size, rng.hi, 0
        if rng.keys is not None:
            _save_next_key(cursor, run_id, rng.keys.hi)  # None: the last range was cut
    else:
        take, params = _TAKE_SQL, [token, lease, worker, retry[0]]
        keys = None
        if keyset is not None and last_key is not None:
            lo_key, hi_key = _key(json_value(retry[4])), _key(json_value(retry[5]))
            leaf = str(retry[6] or "")
            last = next((x.last for x in leaves if x.table == leaf), last_key) if leaf else last_key
            keys = KeyRange(lo_key or last, hi_key, last, leaf)
        rng, claimed, part = Range(retry[1], retry[2], keys), None, int(retry[3])
    slot = batching.rate_slot_seconds(claimed or size, rps)
    # One round trip: take the batch (and queue the range's other parts) and save the
    # run's cursor and adaptive state.
    cursor.execute(
        sql.SQL(
            "WITH taken AS ({}), saved AS ({}) SELECT (SELECT id FROM taken), slot FROM saved"
        ).format(take, _SAVE_SQL),
        [*params, *_save_params(run_id, size, rate, next_lo, slot)],
    )
    batch_id, slot_at = cursor.fetchone()
    return Claim(batch_id, rng, token, claimed, slot_at, part)


def _keyset(table: str, columns: list[str], types: list[str]) -> Keyset | None:
    return Keyset(table, tuple(columns), tuple(types)) if columns else None


def json_value(value: Any) -> Any:
    """A jsonb column read through Django's cursor: Django's psycopg2 backend leaves it
    as text (its JSONField decodes it), psycopg 3 decodes it."""
    return json.loads(value) if isinstance(value, str) else value


def _key(value: Any) -> Key | None:
    return None if value is None else tuple(str(v) for v in value)


def _keys_of(rng: Range) -> list[str | None]:
    """The batch's ``lo_key`` and ``hi_key`` as JSON (None for an integer key)."""
    if rng.keys is None:
        return [None, None]
    hi = json.dumps(list(rng.keys.hi)) if rng.keys.hi is not None else None
    return [json.dumps(list(rng.keys.lo)), hi]


def _cut_keys(
    cursor: Any, keyset: Keyset, ordinal: int, start: Key | None, last: Key | None, size: int
) -> Range | None:
    """The next range of ``size`` rows in key order (an index probe); None when every key
    was handed out (``next_key`` is null once the last range is cut)."""
    if start is None or last is None:
        return None
    boundary = keyset.boundary(cursor, start, size, last)
    return Range(ordinal, ordinal + ORDINAL_STEP, KeyRange(start, boundary, last))


@dataclass(frozen=True)
class Leaf:
    """One leaf partition of a partitioned run's table, with its first and last key at
    start (``run.partitions`` holds them as ``[table, first, last]``, in walk order)."""

    table: str
    first: Key
    last: Key

    @classmethod
    def of(cls, item: Any) -> Leaf:
        return cls(str(item[0]), tuple(map(str, item[1])), tuple(map(str, item[2])))

    def stored(self) -> list[Any]:
        return [self.table, list(self.first), list(self.last)]


def _cut_leaves(
    cursor: Any,
    run_id: int,
    keyset: Keyset,
    ordinal: int,
    start: Key | None,
    last: Key | None,
    size: int,
    leaves: list[Leaf],
    at: int,
) -> Range | None:
    """The next range of a partitioned table: cut in leaf ``at`` with probes on that leaf
    alone; when that leaf is handed out, the run moves on to the next one (its cursor,
    ``next_key``/``last_key``, becomes that leaf's bounds). None after the last leaf."""
    while at < len(leaves):
        leaf = leaves[at]
        rng = _cut_keys(cursor, keyset.on(leaf.table), ordinal, start, last, size)
        if rng is not None and rng.keys is not None:
            return Range(rng.lo, rng.hi, replace(rng.keys, table=leaf.table))
        at += 1
        if at < len(leaves):
            start, last = leaves[at].first, leaves[at].last
            cursor.execute(
                sql.SQL(
                    "UPDATE {} SET partition = %s, next_key = %s::jsonb, last_key = %s::jsonb"
                    " WHERE id = %s"
                ).format(RUN),
                [at, json.dumps(list(start)), json.dumps(list(last)), run_id],
            )
    return None


def _save_next_key(cursor: Any, run_id: int, key: Key | None) -> None:
    cursor.execute(
        sql.SQL("UPDATE {} SET next_key = %s::jsonb WHERE id = %s").format(RUN),
        [None if key is None else json.dumps(list(key)), run_id],
    )


def _adapt(
    size: int, rate: Rate, seen: Observation | None, target: float, lo: int, hi: int
) -> tuple[int, Rate]:
    if seen is None or seen.size is None:
        return size, rate
    if seen.timed_out or seen.waiters or seen.seconds > 2 * target:
        # The average starts over; the slow batch is kept as the peak.
        peak = rate.with_peak(seen.size, seen.seconds)
        return batching.clamp(min(size, seen.size) // 2, lo, hi), Rate(peak=peak)
    rate = rate.observe(seen.size, seen.seconds)
    return batching.adapt_batch_size(size, rate, target, lo, hi), rate


def _cut(cursor: Any, table: str, pk: str, next_lo: int, hi: int, size: int) -> Range | None:
    """The next range of ``size`` rows: an index probe from the cursor (never OFFSET over data)."""
    if next_lo > hi:
        return None
    cursor.execute(
        sql.SQL("SELECT {pk} FROM {t} WHERE {pk} >= %s ORDER BY {pk} OFFSET %s LIMIT 1").format(
            pk=sql.Identifier(pk), t=sql.Identifier(table)
        ),
        [next_lo, size],
    )
    found = cursor.fetchone()
    return batching.next_range(next_lo, hi, found[0] if found else None)


_SAVE_SQL = sql.SQL(
    "UPDATE {} SET batch_size = %s, avg_rows = %s, avg_seconds = %s,"
    " peak_seconds_per_row = %s, next_lo = %s,"
    " started_at = coalesce(started_at, now()), heartbeat_at = now(),"
    " next_slot_at = CASE WHEN %s > 0 THEN greatest(next_slot_at, now())"
    "   + make_interval(secs => %s) ELSE next_slot_at END"
    " WHERE id = %s RETURNING next_slot_at - make_interval(secs => %s) AS slot"
).format(RUN)


def _save_params(run_id: int, size: int, rate: Rate, next_lo: int, slot: float) -> list[Any]:
    return [size, rate.rows, rate.seconds, rate.peak, next_lo, slot, slot, run_id, slot]


def _save_adaptive(
    cursor: Any, run_id: int, size: int, rate: Rate, next_lo: int, slot: float
) -> datetime | None:
    cursor.execute(_SAVE_SQL, _save_params(run_id, size, rate, next_lo, slot))
    return cursor.fetchone()[0]  # type: ignore[no-any-return]


def _idle_state(cursor: Any, run_id: int) -> str:
    cursor.execute(
        sql.SQL(
            "SELECT count(*) FROM {} WHERE run_id = %s AND state IN ('pending', 'running')"
        ).format(BATCH),
        [run_id],
    )
    return "busy" if cursor.fetchone()[0] else "drained"


# Counting the sessions blocked behind this transaction, and reading the run's state
# (a pause or cancel since the next range was claimed ahead), cost no extra round trip.
_CHECKPOINT_SQL = sql.SQL(
    "UPDATE {b} SET state = 'done', rows = %s, finished_at = clock_timestamp(),"
    " duration = extract(epoch FROM clock_timestamp() - now()), lease_token = NULL,"
    " last_error = '', waiters = (" + WAITERS_SQL + ")"
    " WHERE id = %s AND lease_token = %s AND state = 'running'"
    " RETURNING waiters, (SELECT state FROM {r} WHERE {r}.id = {b}.run_id)"
).format(b=BATCH, r=RUN)


def checkpoint(cursor: Any, claim: Claim, rows: int) -> tuple[int, str] | None:
    """Mark the batch done in the caller's transaction; returns the sessions that waited
    on its locks and the run's state, or None when the lease was lost (the caller must
    roll back)."""
    cursor.execute(_CHECKPOINT_SQL, [rows, claim.batch_id, claim.token])
    row = cursor.fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def record_failure(
    cursor: Any, claim: Claim, code: str | None, message: str, keyset: Keyset | None = None
) -> str:
    """Retry later, split, or fail the batch (and maybe the run); returns what it did.
    A range over ``keyset`` (a key other than one integer) is split at a probed middle key."""
    cursor.execute(
        sql.SQL(
            "SELECT attempts, timeouts, run_id FROM {} WHERE id = %s AND lease_token = %s"
            " FOR UPDATE"
        ).format(BATCH),
        [claim.batch_id, claim.token],
    )
    row = cursor.fetchone()
    if row is None:
        return "lease lost"
    attempts, timeouts, run_id = row
    timed_out = code in TIMEOUT_CODES
    timeouts += int(timed_out)
    # A statement timeout means the range is too big for the lock budget: halve it now.
    split_now = code == STATEMENT_TIMEOUT or (timed_out and timeouts >= SPLIT_AFTER)
    halves = _halves(cursor, claim.rng, keyset) if split_now else None
    if halves is not None:
        _split(cursor, claim, halves, message)
        return f"split into {halves[0].lo}..{halves[0].hi} and {halves[1].lo}..{halves[1].hi}"
    failed = (not timed_out and attempts >= MAX_ATTEMPTS) or timeouts >= MAX_TIMEOUTS
    delay = batching.backoff_seconds(timeouts if timed_out else attempts)
    cursor.execute(
        sql.SQL(
            "UPDATE {} SET state = %s, timeouts = %s, last_error = %s, lease_token = NULL,"
            " available_at = now() + make_interval(secs => %s) WHERE id = %s"
        ).format(BATCH),
        ["failed" if failed else "pending", timeouts, message[:2000], delay, claim.batch_id],
    )
    if not failed:
        return f"retry in {delay:.1f}s"
    return "failed" + (", run stopped" if _maybe_stop(cursor, run_id, message) else "")


def _halves(cursor: Any, rng: Range, keyset: Keyset | None) -> tuple[Range, Range] | None:
    halves = batching.split(rng)
    if halves is None or rng.keys is None or keyset is None:
        return halves
    middle = keyset.on(rng.keys.table).middle(cursor, rng.keys)
    if middle is None:
        return None
    low, high = halves
    return (
        Range(low.lo, low.hi, replace(rng.keys, hi=middle)),
        Range(high.lo, high.hi, replace(rng.keys, lo=middle)),
    )


def _split(cursor: Any, claim: Claim, halves: tuple[Range, Range], message: str) -> None:
    low, high = halves
    # The upper half first: it copies the batch's hi_key before the lower half moves it.
    cursor.execute(
        sql.SQL(
            "INSERT INTO {} (run_id, lo, hi, part, state, attempts, timeouts, waiters, worker,"
            " last_error, lo_key, hi_key, leaf) SELECT run_id, %s, %s, part, 'pending', 0, 0, 0,"
            " '', '', %s::jsonb, hi_key, leaf FROM {} WHERE id = %s"
        ).format(BATCH, BATCH),
        [high.lo, high.hi, _keys_of(high)[0], claim.batch_id],
    )
    cursor.execute(
        sql.SQL(
            "UPDATE {} SET hi = %s, hi_key = coalesce(%s::jsonb, hi_key), state = 'pending',"
            " timeouts = 0, attempts = 0, lease_token = NULL, last_error = %s,"
            " available_at = now() WHERE id = %s"
        ).format(BATCH),
        [low.hi, _keys_of(low)[1], message[:2000], claim.batch_id],
    )


def _maybe_stop(cursor: Any, run_id: int, message: str) -> bool:
    cursor.execute(
        sql.SQL(
            "SELECT count(*) FILTER (WHERE state = 'failed'),"
            " count(*) FILTER (WHERE state = 'done')"
            " FROM {} WHERE run_id = %s"
        ).format(BATCH),
        [run_id],
    )
    failed, done = cursor.fetchone()
    if not batching.should_stop(failed, done, MAX_FAILED_BATCHES):
        return False
    cursor.execute(
        sql.SQL(
            "UPDATE {} SET state = 'failed', last_error = %s, finished_at = now()"
            " WHERE id = %s AND state = 'active'"
        ).format(RUN),
        [f"{failed} batches failed; last error: {message}"[:2000], run_id],
    )
    return True


_UNCUT_SQL = sql.SQL(
    "WITH mine AS (SELECT run_id, lo FROM {b} WHERE id = %s AND lease_token = %s"
    "   AND state = 'running'),"
    " gone AS (DELETE FROM {b} o USING mine WHERE o.run_id = mine.run_id AND o.lo = mine.lo"
    "   AND ((o.id = %s AND o.lease_token = %s) OR (o.state = 'pending' AND o.attempts = 0))"
    "   AND NOT EXISTS (SELECT 1 FROM {b} t WHERE t.run_id = mine.run_id AND t.lo = mine.lo"
    "     AND t.id <> %s AND NOT (t.state = 'pending' AND t.attempts = 0))"
    "   RETURNING o.run_id, o.lo, o.lo_key)"
    " UPDATE {r} SET next_lo = gone.lo, next_key = coalesce(gone.lo_key, {r}.next_key)"
    " FROM (SELECT DISTINCT ON (run_id) run_id, lo, lo_key FROM gone) gone"
    " WHERE {r}.id = gone.run_id"
).format(b=BATCH, r=RUN)


def release(cursor: Any, run_id: int, claim: Claim) -> str:
    """Give back a range this worker claimed but will not run (one transaction).

    A freshly cut range that is still the last one cut, and whose other parts nobody
    has taken yet, is removed with them and the run's cursor moved back, so the next
    claim cuts it again at the size it then wants; otherwise the batch becomes pending,
    available at once, its attempt not counted. Returns ``uncut``, ``pending`` or
    ``lease lost``.
    """
    # Never wait behind a claim for the run row: without it, the range is made pending.
    cursor.execute(
        sql.SQL("SELECT next_lo FROM {} WHERE id = %s FOR UPDATE SKIP LOCKED").format(RUN),
        [run_id],
    )
    row = cursor.fetchone()
    if row is not None and claim.size is not None and row[0] == claim.rng.hi:
        cursor.execute(_UNCUT_SQL, [claim.batch_id, claim.token] * 2 + [claim.batch_id])
        if cursor.rowcount:
            return "uncut"
    cursor.execute(
        sql.SQL(
            "UPDATE {} SET state = 'pending', lease_token = NULL, available_at = now(),"
            " attempts = greatest(attempts - 1, 0)"
            " WHERE id = %s AND lease_token = %s AND state = 'running'"
        ).format(BATCH),
        [claim.batch_id, claim.token],
    )
    return "pending" if cursor.rowcount else "lease lost"
