"""Rules about locks and rewrites (SO2xx)."""

from __future__ import annotations

from schemaops.checks._base import Rule
from schemaops.checks.add_index_non_concurrently import AddIndexNonConcurrently

RULES: list[type[Rule]] = [
    AddIndexNonConcurrently,
]
