"""Throttled, resumable Celery backfills in small batches (Django app ``schemaops_backfill``).

The declarative form is ``schemaops backfill start app.Model --set "col = <SQL>"``;
the Python form is a :class:`Backfill` subclass in ``<app>/backfills.py``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Backfill"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the app package does not import Django models early.
    if name == "Backfill":
        from schemaops.backfill.base import Backfill

        return Backfill
    raise AttributeError(name)
