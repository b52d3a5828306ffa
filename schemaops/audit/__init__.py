"""Audit of a live database (``schemaops audit``): a registry of checks with stable codes.

Codes by range: AU1xx indexes (``indexes``, ``suggest``, ``bloat``), AU2xx schema
hygiene (``schema``), AU3xx drift between the Django models and the database
(``drift``), AU4xx settings and maintenance (``settings``). Every module is
imported here so the registry is complete; ``tests/audit/test_catalog.py``
fails when a check lacks a doc section or a test, or reuses a code.
"""

from __future__ import annotations

from schemaops.audit import bloat, drift, indexes, schema, settings, suggest  # noqa: F401
from schemaops.audit._base import REGISTRY, Check, Thresholds

CHECKS: dict[str, Check] = dict(sorted(REGISTRY.items()))


def lookup(ref: str) -> Check | None:
    """A check by code (``AU101``, any case) or name (``fk-without-index``)."""
    ref = ref.strip()
    return CHECKS.get(ref.upper()) or next((c for c in CHECKS.values() if c.name == ref), None)


__all__ = ["CHECKS", "Check", "Thresholds", "lookup"]
