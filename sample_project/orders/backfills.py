"""Backfills of the orders app, started by name: ``schemaops backfill start orders.X``."""

from django.db.models import F
from schemaops.backfill import Backfill


class FillTotalCents(Backfill):
    """Copy ``total`` (a decimal) into ``total_cents`` (an integer), batch by batch."""

    model = "orders.Order"

    def pending(self, queryset):
        return queryset.filter(total_cents__isnull=True)

    def process(self, batch):
        return self.pending(batch).update(total_cents=F("total") * 100)
