"""Rules about timeouts (SO4xx), missing indexes (SO5xx), schema hygiene (SO6xx), meta (SO9xx)."""

from __future__ import annotations

from schemaops.checks._base import Rule
from schemaops.checks.unparsable_sql import UnparsableSQL

RULES: list[type[Rule]] = [
    UnparsableSQL,
]
