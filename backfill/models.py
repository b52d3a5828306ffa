# mypy: disable-error-code="var-annotated"
"""Runs and batches of ``schemaops backfill``, stored in the user's own database.

A :class:`Run` is one backfill of one table: what to write (a ``SET`` list or a
Python :class:`~schemaops.backfill.base.Backfill`), the primary-key bounds, the
throttle settings and the adaptive state. A :class:`Batch` is one primary-key
range ``[lo, hi)`` of a run. A batch row turns ``done`` in the same transaction
that updates the table's rows, so each range counts exactly once; the unique
constraint on ``(run, part, lo)`` keeps two batches from starting at the same key,
and a split shortens a batch in place and adds its upper half as a new row.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class RunState(models.TextChoices):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    FINISHED = "finished"
    FAILED = "failed"


class BatchState(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Run(models.Model):
    """One backfill of one table; the unit that ``start``/``pause``/``cancel`` act on."""

    key = models.CharField(max_length=64, help_text="sha256 of what the run writes")
    target = models.CharField(max_length=200, help_text="app_label.Model or app_label.Backfill")
    kind = models.CharField(max_length=10, choices=[("sql", "sql"), ("python", "python")])
    db_table = models.CharField(max_length=200)
    pk_column = models.CharField(max_length=200)
    assignments = models.JSONField(default=list, help_text="[[column, sql expression], ...]")
    where = models.TextField(blank=True, default="")
    # db_default: a release that predates these columns still inserts runs (expand/contract)
    key_columns = models.JSONField(
        default=list,
        db_default=[],
        help_text="[] for one integer key; else the key's columns, in order",
    )
    key_types = models.JSONField(default=list, db_default=[], help_text="their SQL types")
    next_key = models.JSONField(null=True, help_text="first key not yet given to a batch")
    last_key = models.JSONField(null=True, help_text="inclusive upper bound: the last key at start")
    partitions = models.JSONField(
        default=list,
        db_default=[],
        help_text="a partitioned table's leaves with rows: [[table, first, last]]",
    )
    partition = models.IntegerField(
        default=0, db_default=0, help_text="the leaf of partitions whose keys are being cut"
    )
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.ACTIVE)
    lo = models.BigIntegerField()
    hi = models.BigIntegerField(help_text="inclusive upper bound: max(pk) at start")
    next_lo = models.BigIntegerField(help_text="first key not yet given to a batch")
    rows_estimate = models.BigIntegerField(default=0)
    # throttle settings
    batch_size = models.IntegerField()
    min_batch_size = models.IntegerField()
    max_batch_size = models.IntegerField()
    target_seconds = models.FloatField()
    pause_seconds = models.FloatField(default=0.0)
    lock_timeout_ms = models.IntegerField()
    statement_timeout_ms = models.IntegerField()
    max_rows_per_second = models.FloatField(default=0.0, help_text="0: no global rate limit")
    lease_seconds = models.FloatField()
    concurrency = models.IntegerField(default=1)
    parts = models.PositiveSmallIntegerField(
        default=1,
        db_default=1,
        help_text="each key range is updated in this many interleaved parts (pk mod parts)",
    )
    options = models.JSONField(default=dict, help_text="health thresholds and hooks")
    # adaptive state, updated by the claim transaction
    avg_rows = models.FloatField(default=0.0)
    avg_seconds = models.FloatField(default=0.0)
    peak_seconds_per_row = models.FloatField(
        default=0.0, db_default=0.0, help_text="slowest recent batch per row, decaying"
    )
    next_slot_at = models.DateTimeField(null=True)
    heartbeat_at = models.DateTimeField(
        null=True, help_text="last sign of a live worker: a claim, or a hold on a health signal"
    )
    throttle_state = models.CharField(max_length=20, default="normal")
    throttle_reason = models.TextField(blank=True, default="")
    # outcome
    remaining = models.BigIntegerField(null=True, help_text="rows not matching after the sweep")
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Starting a run from the admin is a permission of its own: add_run alone (which a
        # data-entry role may hold for every model) does not start writes to a table.
        permissions = [("start_backfill", "Can start a backfill run from the admin")]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=~Q(state="cancelled"),
                name="schemaops_backfill_one_live_run_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"run {self.pk} {self.target} ({self.state})"


class Batch(models.Model):
    """One primary-key range ``[lo, hi)`` of a run, checkpointed with its rows.

    With ``run.parts > 1`` a range is cut once and handed out as that many batches,
    one per ``part``: the rows whose key modulo ``parts`` is ``part`` (see
    :func:`schemaops.backfill.spec.batch_statement`).
    """

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="batches")
    lo = models.BigIntegerField()
    hi = models.BigIntegerField(help_text="exclusive")
    part = models.PositiveSmallIntegerField(
        default=0, db_default=0, help_text="the rows with pk mod run.parts = part"
    )
    lo_key = models.JSONField(null=True, help_text="first key (a key other than one integer)")
    hi_key = models.JSONField(null=True, help_text="key after the last; null: to run.last_key")
    leaf = models.CharField(
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text="the leaf partition the range lies in (a partitioned table)",
    )
    state = models.CharField(max_length=10, choices=BatchState.choices, default=BatchState.PENDING)
    attempts = models.IntegerField(default=0)
    timeouts = models.IntegerField(default=0)
    rows = models.BigIntegerField(null=True)
    duration = models.FloatField(null=True, help_text="seconds the batch transaction was open")
    waiters = models.IntegerField(default=0, help_text="sessions blocked behind the batch")
    worker = models.CharField(max_length=200, blank=True, default="")
    lease_token = models.UUIDField(null=True)
    lease_until = models.DateTimeField(null=True)
    backend_pid = models.IntegerField(null=True)
    backend_start = models.DateTimeField(null=True)
    available_at = models.DateTimeField(null=True, help_text="retry not before (backoff)")
    last_error = models.TextField(blank=True, default="")
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "part", "lo"], name="schemaops_backfill_batch_part_once"
            ),
            models.CheckConstraint(
                condition=Q(lo__lt=models.F("hi")), name="schemaops_backfill_batch_nonempty"
            ),
        ]
        indexes = [models.Index(fields=["run", "state"], name="schemaops_bf_batch_state")]

    def __str__(self) -> str:
        return f"batch {self.pk} [{self.lo}, {self.hi}) {self.state}"
