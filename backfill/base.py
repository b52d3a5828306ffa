"""The Python form of a backfill: subclass :class:`Backfill` in ``<app>/backfills.py``.

Example (``orders/backfills.py``)::

    from django.db.models import F
    from schemaops.backfill import Backfill

    class FillTotalCents(Backfill):
        model = "orders.Order"

        def pending(self, queryset):
            return queryset.filter(total_cents__isnull=True)

        def process(self, batch):
            return self.pending(batch).update(total_cents=F("total") * 100)

Start it by name: ``schemaops backfill start orders.FillTotalCents``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet


class Backfill:
    """One data change, applied one primary-key range at a time.

    Contract:
    - ``model``: the model whose table is walked (``"app_label.Model"`` or the class).
      Its primary key must be an integer.
    - ``process(batch)``: update the rows of ``batch`` (the queryset restricted to one
      ``[lo, hi)`` key range) and return how many rows changed. It runs inside the
      batch's transaction, with ``lock_timeout``/``statement_timeout`` set; the
      checkpoint commits with it. It must be idempotent: a range may run again
      after a crash that rolled it back.
    - ``queryset()``: the rows the backfill considers (default: all of ``model``).
    - ``pending(queryset)``: the rows of ``queryset`` that still need work. Optional;
      when given, ``--dry-run`` counts them and the final sweep reports them.
    - ``throttle()``: a health hook; return a reason (str) to hold the backfill,
      or None to go on. Called between batches, at most once a second per worker.
    - Class attributes override the command-line defaults: ``batch_size``,
      ``target_seconds``, ``lock_timeout``, ``statement_timeout``.
    """

    model: str | type[Model]
    batch_size: int | None = None
    target_seconds: float | None = None
    lock_timeout: str | None = None
    statement_timeout: str | None = None

    def model_class(self) -> type[Model]:
        from django.apps import apps

        if isinstance(self.model, str):
            return apps.get_model(self.model)
        return self.model

    def queryset(self) -> QuerySet[Any]:
        return self.model_class()._default_manager.all()

    def process(self, batch: QuerySet[Any]) -> int:
        raise NotImplementedError(f"{type(self).__name__}.process(batch) is not written")

    def pending(self, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        return None

    def throttle(self) -> str | None:
        return None
