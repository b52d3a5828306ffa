"""Create, resume, pause and cancel runs, and read their status. No Celery here.

``start`` is idempotent: the same target and SQL find the same run. An active or
paused run is resumed, a failed one gets its failed ranges back and is resumed,
a finished one is left alone, and a cancelled one is history (a new run starts).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, transaction
from django.db.backends.postgresql.psycopg_any import sql  # the driver Django uses
from django.utils import timezone

from schemaops.backfill.batching import Progress
from schemaops.backfill.spec import Spec
from schemaops.backfill.tuning import RunSettings
from schemaops.errors import ConfigError

if TYPE_CHECKING:
    from schemaops.backfill.models import Run, RunState


def ensure_installed(alias: str) -> None:
    """The app's tables must exist and be migrated; say how to get there if not."""
    from schemaops.backfill.models import Run

    with connections[alias].cursor() as cursor:
        tables = connections[alias].introspection.table_names(cursor)
    if Run._meta.db_table not in tables:
        raise ConfigError(
            "schemaops backfill tables are missing: add 'schemaops.backfill' to INSTALLED_APPS "
            "and run `python manage.py migrate schemaops_backfill`"
        )
    label = Run._meta.app_label
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT name FROM django_migrations WHERE app = %s", [label])
        applied = {name for (name,) in cursor.fetchall()}
    pending = sorted(set(_own_migrations()) - applied)
    if pending:
        raise ConfigError(
            f"schemaops backfill tables are out of date ({', '.join(pending)} not applied): "
            f"run `python manage.py migrate {label}`"
        )


def _own_migrations() -> list[str]:
    """The names of this app's migrations, read from its package (no graph to load)."""
    import pkgutil

    from schemaops.backfill import migrations

    return [m.name for m in pkgutil.iter_modules(migrations.__path__) if m.name[:1].isdigit()]


def start(spec: Spec, settings: RunSettings, alias: str) -> tuple[Run, str]:
    """Find or create the run for ``spec``; returns (run, created|resumed|finished)."""
    from schemaops.backfill.models import Run, RunState

    runs = Run.objects.using(alias).filter(key=spec.key).exclude(state=RunState.CANCELLED)
    existing = runs.first()
    if existing is not None:
        if existing.state == RunState.FINISHED:
            return existing, "finished"
        return set_state(existing.pk, "resume", alias), "resumed"
    lo, hi, estimate = _bounds(spec, alias)
    run = Run(
        parts=_parts(spec, settings, alias),
        key=spec.key,
        target=spec.target,
        kind=spec.kind,
        db_table=spec.db_table,
        pk_column=spec.pk_column,
        assignments=[list(p) for p in spec.assignments],
        where=spec.where,
        lo=lo,
        hi=hi,
        next_lo=lo,
        rows_estimate=estimate,
        **settings.columns(),
    )
    try:
        with transaction.atomic(using=alias):
            run.save(using=alias)
    except IntegrityError:  # another `start` of the same spec won the race
        return runs.get(), "resumed"
    return run, "created"


# Columns an index reads: key and INCLUDE columns (indkey), and those its expressions
# or predicate use (recorded in pg_depend). Changing one makes an update non-HOT.
INDEXED_COLUMNS_SQL = """
SELECT a.attname FROM pg_attribute a
WHERE a.attrelid = to_regclass(quote_ident(%s)) AND a.attnum > 0 AND a.attname = ANY(%s)
  AND (a.attnum = ANY (SELECT unnest(i.indkey) FROM pg_index i WHERE i.indrelid = a.attrelid)
       OR EXISTS (SELECT 1 FROM pg_depend d JOIN pg_index i ON i.indexrelid = d.objid
                  WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                    AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum))
ORDER BY a.attnum
"""


def indexed_columns(spec: Spec, alias: str) -> list[str]:
    """The columns the backfill sets that some index reads (their updates cannot be HOT)."""
    with connections[alias].cursor() as cursor:
        cursor.execute(INDEXED_COLUMNS_SQL, [spec.db_table, [c for c, _ in spec.assignments]])
        return [str(name) for (name,) in cursor.fetchall()]


def _parts(spec: Spec, settings: RunSettings, alias: str) -> int:
    """Two interleaved parts per range for ``--set`` when its updates can be HOT, else one.

    A freshly loaded table has no room on its pages, so no update of it is HOT: the new
    row version goes to another page and every index gets an entry. Updating the even
    keys of a range first and the odd keys in a later transaction frees room on each
    page (the first part's old versions are dead, and PostgreSQL prunes them when the
    second part reads the page), so much of the second part is HOT. Measured on 3M
    rows: ~38% of the updates HOT and ~14% less time than one pass.
    """
    if not settings.interleave or spec.kind != "sql" or indexed_columns(spec, alias):
        return 1
    return 2


def _bounds(spec: Spec, alias: str) -> tuple[int, int, int]:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT min({pk}), max({pk}) FROM {t}").format(
                pk=sql.Identifier(spec.pk_column), t=sql.Identifier(spec.db_table)
            )
        )
        lo, hi = cursor.fetchone()
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(quote_ident(%s))",
            [spec.db_table],
        )
        (estimate,) = cursor.fetchone()
    if lo is None:
        return 1, 0, 0
    return int(lo), int(hi), int(estimate) if estimate and estimate > 0 else int(hi - lo + 1)


def _transitions() -> dict[str, tuple[set[RunState], RunState]]:
    """action -> (the states it applies to, the state it leads to)."""
    from schemaops.backfill.models import RunState

    stoppable = {RunState.ACTIVE, RunState.PAUSED, RunState.FAILED}
    return {
        "pause": ({RunState.ACTIVE}, RunState.PAUSED),
        "resume": (stoppable, RunState.ACTIVE),
        "cancel": (stoppable, RunState.CANCELLED),
    }


def set_state(run_id: int, action: str, alias: str) -> Run:
    """pause / resume / cancel, checked against the run's current state."""
    from schemaops.backfill.models import Batch, BatchState, Run, RunState

    allowed, new_state = _transitions()[action]
    with transaction.atomic(using=alias):
        run = Run.objects.using(alias).select_for_update().filter(pk=run_id).first()
        if run is None:
            raise ConfigError(f"no backfill run {run_id}")
        if run.state not in allowed:
            raise ConfigError(f"run {run_id} is {run.state}: cannot {action} it")
        if action == "resume" and run.state == RunState.FAILED:
            Batch.objects.using(alias).filter(run=run, state=BatchState.FAILED).update(
                state=BatchState.PENDING, attempts=0, timeouts=0, available_at=None
            )
            run.finished_at, run.last_error = None, ""
        run.state = new_state
        if new_state == RunState.CANCELLED:
            run.finished_at = timezone.now()
        run.save(using=alias)
    return run


@dataclass(frozen=True)
class RunStatus:
    """One run as ``status`` shows it."""

    id: int
    target: str
    state: str
    assignments: list[list[str]]
    where: str
    batches: dict[str, int]
    rows_updated: int
    keys_done: int
    keys_total: int
    rows_estimate: int
    elapsed: float
    batch_size: int
    throttle_state: str
    throttle_reason: str
    remaining: int | None
    last_error: str
    max_batch_seconds: float | None
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def progress(self) -> Progress:
        return Progress(self.keys_done, self.keys_total, self.rows_updated, self.elapsed)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        p = self.progress
        data.update(
            fraction=round(p.fraction, 4),
            rows_per_second=round(p.rows_per_second, 1),
            eta_seconds=None if p.eta_seconds is None else round(p.eta_seconds, 1),
            rows_remaining_estimate=p.rows_remaining(self.rows_estimate),
            started_at=_iso(self.started_at),
            finished_at=_iso(self.finished_at),
        )
        return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


_STATUS_SQL = """
SELECT state, count(*), coalesce(sum(rows), 0), coalesce(sum(hi - lo), 0), max(duration)
FROM schemaops_backfill_batch WHERE run_id = %s GROUP BY state
"""


def status(run_id: int | None, alias: str) -> list[RunStatus]:
    """Every run (newest first), or one run."""
    from schemaops.backfill.models import Run

    runs = Run.objects.using(alias).order_by("-id")
    if run_id is not None:
        runs = runs.filter(pk=run_id)
        if not runs.exists():
            raise ConfigError(f"no backfill run {run_id}")
    return [_status(run, alias) for run in runs]


def _status(run: Any, alias: str) -> RunStatus:
    counts = {"pending": 0, "running": 0, "done": 0, "failed": 0}
    rows = keys = 0
    longest: float | None = None
    with connections[alias].cursor() as cursor:
        cursor.execute(_STATUS_SQL, [run.pk])
        for state, n, state_rows, state_keys, state_max in cursor.fetchall():
            counts[state] = n
            if state == "done":
                # Each part of a range covers its keys once: count a key when all are done.
                rows, keys, longest = int(state_rows), int(state_keys) // run.parts, state_max
    end = run.finished_at or timezone.now()
    elapsed = (end - run.started_at).total_seconds() if run.started_at else 0.0
    return RunStatus(
        id=run.pk,
        target=run.target,
        state=run.state,
        assignments=run.assignments,
        where=run.where,
        batches=counts,
        rows_updated=rows,
        keys_done=keys,
        keys_total=max(0, run.hi - run.lo + 1),
        rows_estimate=run.rows_estimate,
        elapsed=elapsed,
        batch_size=run.batch_size,
        throttle_state=run.throttle_state,
        throttle_reason=run.throttle_reason,
        remaining=run.remaining,
        last_error=run.last_error,
        max_batch_seconds=longest,
        started_at=run.started_at,
        finished_at=run.finished_at,
    )
