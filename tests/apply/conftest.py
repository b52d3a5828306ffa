"""Fixtures for the schemaops migrate tests; helpers live in migrate_support.py."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from migrate_support import LockHolder


@pytest.fixture
def holders() -> Iterator[list[LockHolder]]:
    made: list[LockHolder] = []
    yield made
    for holder in made:
        holder.release()
