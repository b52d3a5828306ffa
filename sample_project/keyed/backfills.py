"""Backfills of the test app: Python Backfill classes with unusual settings."""

from django.db.models import F

from schemaops.backfill import Backfill


class FewAtATime(Backfill):
    """Heavy rows: five a batch to start with (below the default floor of 100)."""

    model = "orders.Order"
    batch_size = 5

    def pending(self, queryset):
        return queryset.filter(total_cents__isnull=True)

    def process(self, batch):
        return self.pending(batch).update(total_cents=F("total") * 100)
