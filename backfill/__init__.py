"""Throttled, resumable Celery backfills in small batches (Django app ``schemaops_backfill``)."""
