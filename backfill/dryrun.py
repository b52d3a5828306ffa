"""``--dry-run``: numbers before anything is written, and nothing written.

It counts the rows to touch, EXPLAINs the batch statement, runs one sample
batch inside a transaction that is rolled back (measuring time, rows and WAL
bytes from ``pg_current_wal_insert_lsn()``), and projects the whole run's
duration and WAL volume. It also flags updates that cannot be HOT (an indexed
target column) and triggers that fire per row. No run row is created.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connections, transaction
from django.db.backends.postgresql.psycopg_any import sql  # the driver Django uses
from django.test.utils import CaptureQueriesContext

from schemaops.backfill import idempotence, ledger, runner
from schemaops.backfill import spec as spec_module
from schemaops.backfill.batching import Range
from schemaops.backfill.keys import ORDINAL_STEP, KeyRange, Keyset
from schemaops.backfill.spec import Spec


@dataclass
class DryRun:
    rows_in_table: int
    rows_to_touch: int | None
    first_range: Range | None
    statements: list[str] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)
    sample_rows: int = 0
    sample_seconds: float = 0.0
    sample_wal_bytes: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def projected_seconds(self) -> float | None:
        return self._project(self.sample_seconds)

    @property
    def projected_wal_bytes(self) -> float | None:
        return self._project(float(self.sample_wal_bytes))

    def _project(self, sample: float) -> float | None:
        if self.rows_to_touch is None or self.sample_rows <= 0:
            return None
        return sample / self.sample_rows * self.rows_to_touch


def dry_run(
    spec: Spec, batch_size: int, timeouts: tuple[str, str], alias: str, interleave: bool = True
) -> DryRun:
    """Measure one batch and project the run; everything is rolled back."""
    from schemaops.backfill.control import with_keyset

    idempotence.refuse_unsafe(spec, alias)
    spec = with_keyset(spec, alias)
    with connections[alias].cursor() as cursor:
        if spec.keyset is not None:
            rng, total = _first_key_range(cursor, spec.keyset, batch_size), _count(cursor, spec)
        else:
            lo, total = _bounds(cursor, spec)
            rng = _first_range(cursor, spec, lo, batch_size) if lo is not None else None
    report = DryRun(total, _rows_to_touch(spec, alias), rng, notes=_notes(spec, alias, interleave))
    if rng is not None:
        _sample(report, spec, rng, timeouts, alias)
    return report


def _bounds(cursor: Any, spec: Spec) -> tuple[int | None, int]:
    cursor.execute(
        sql.SQL("SELECT min({pk}), count(*) FROM {t}").format(
            pk=sql.Identifier(spec.pk_column), t=sql.Identifier(spec.db_table)
        )
    )
    lo, total = cursor.fetchone()
    return lo, int(total)


def _count(cursor: Any, spec: Spec) -> int:
    cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(spec.db_table)))
    return int(cursor.fetchone()[0])


def _first_key_range(cursor: Any, keyset: Keyset, size: int) -> Range | None:
    first = keyset.end(cursor, descending=False)
    last = keyset.end(cursor, descending=True)
    if first is None or last is None:
        return None
    return Range(0, ORDINAL_STEP, KeyRange(first, keyset.boundary(cursor, first, size, last), last))


def _first_range(cursor: Any, spec: Spec, lo: int, size: int) -> Range | None:
    cursor.execute(
        sql.SQL("SELECT max({pk}) FROM {t}").format(
            pk=sql.Identifier(spec.pk_column), t=sql.Identifier(spec.db_table)
        )
    )
    (hi,) = cursor.fetchone()
    return ledger._cut(cursor, spec.db_table, spec.pk_column, lo, hi, size)


def _rows_to_touch(spec: Spec, alias: str) -> int | None:
    if spec.backfill is not None:
        pending = spec.backfill.pending(spec.backfill.queryset().using(alias))
        return pending.count() if pending is not None else None
    with connections[alias].cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT count(*) FROM {t} WHERE {todo}")
            .format(t=sql.Identifier(spec.db_table), todo=spec_module.pending_predicate(spec))
            .as_string(cursor.connection)
        )
        return int(cursor.fetchone()[0])


def _sample(report: DryRun, spec: Spec, rng: Range, timeouts: tuple[str, str], alias: str) -> None:
    import time

    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")
        (before,) = cursor.fetchone()
        with CaptureQueriesContext(connection) as captured:
            started = time.monotonic()
            report.sample_rows = runner.apply_range(spec, rng, cursor, timeouts)
            report.sample_seconds = time.monotonic() - started
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", [before])
        report.sample_wal_bytes = int(cursor.fetchone()[0])
        report.statements = [q["sql"] for q in captured.captured_queries]
        if report.statements:
            cursor.execute("EXPLAIN " + last_statement(report.statements[-1]))
            report.explain = [line for (line,) in cursor.fetchall()]
        transaction.set_rollback(True, using=alias)


def last_statement(text: str) -> str:
    """The UPDATE after the SET LOCAL prefix, found by parsing (pglast), not by searching."""
    import pglast

    statements = pglast.split(text)
    return str(statements[-1]) if statements else text


def _notes(spec: Spec, alias: str, interleave: bool) -> list[str]:
    from schemaops.backfill.control import indexed_columns

    indexed = indexed_columns(spec, alias)
    notes = [
        f"{name} is indexed: its updates cannot be HOT; build the index after the backfill"
        for name in indexed
    ]
    if interleave and spec.kind == "sql" and not indexed and not spec.key_columns:
        notes.append(
            "each range runs as two batches, even keys then odd keys, so most of the odd"
            " part's updates can be HOT (the sample is one whole range; --no-interleave)"
        )
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = to_regclass(quote_ident(%s))"
            " AND NOT tgisinternal",
            [spec.db_table],
        )
        for (name,) in cursor.fetchall():
            notes.append(f"trigger {name} fires for every updated row")
    return notes
