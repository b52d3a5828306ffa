from schemaops.backfill.base import Backfill


class FillNothing(Backfill):
    model = "orders.Order"
