"""The remedy tests' helpers (proof_project.py, proof_support.py) live next to them,
and the one fixture every proof module builds on: its pair of scratch databases."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import create_database, drop_database_soon

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="module")
def proof_databases(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """``(ref, fix)``: two empty databases of the module's own, dropped after its last
    test. ``ref`` takes the original migrations, ``fix`` what ``schemaops fix`` wrote
    (``proof_support.prove``)."""
    stem = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    tag = f"schemaops_{stem[:20]}_{uuid.uuid4().hex[:8]}"
    ref, fix = f"{tag}_ref", f"{tag}_fix"
    create_database(ref)
    create_database(fix)
    try:
        yield ref, fix
    finally:
        drop_database_soon(ref)
        drop_database_soon(fix)
