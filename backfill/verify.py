"""The final verification sweep: count the rows that still do not match, range by range.

Each range is its own short read (no long snapshot holding back vacuum). The
sweep covers keys up to the current ``max(pk)``, so rows inserted after the run
started with the old shape show up here instead of being silently missed.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connections
from psycopg2 import sql
from schemaops.backfill import batching
from schemaops.backfill import spec as spec_module
from schemaops.backfill.spec import Spec

log = logging.getLogger("schemaops.backfill")
SWEEP_STEP = 1_000_000


def remaining_rows(spec: Spec, lo: int, alias: str) -> int | None:
    """Rows with ``pk >= lo`` that still need the update; None if the Backfill cannot tell."""
    if spec.kind == "python" and spec.backfill is not None:
        probe = spec.backfill.pending(spec.backfill.queryset())
        if probe is None:
            return None
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
    if spec.backfill is not None:
        queryset = spec.backfill.queryset().filter(pk__gte=rng.lo, pk__lt=rng.hi)
        pending = spec.backfill.pending(queryset)
        return pending.count() if pending is not None else 0
    cursor.execute(
        sql.SQL("SELECT count(*) FROM {t} WHERE {pk} >= {lo} AND {pk} < {hi} AND {todo}")
        .format(
            t=sql.Identifier(spec.db_table),
            pk=sql.Identifier(spec.pk_column),
            lo=sql.Literal(rng.lo),
            hi=sql.Literal(rng.hi),
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
    remaining = remaining_rows(spec_module.load(run), run.lo, alias) if verify else None
    state = "failed" if failed else "finished"
    error = f"{failed} batches failed" if failed else ""
    updated = (
        Run.objects.using(alias)
        .filter(pk=run_id, state="active")
        .update(
            state=state, remaining=remaining, finished_at=_now(), last_error=error or run.last_error
        )
    )
    log.info(
        f"event=finished run={run_id} state={state} remaining={remaining} failed_batches={failed}"
    )
    return state if updated else str(Run.objects.using(alias).get(pk=run_id).state)


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()
