"""A throwaway PostgreSQL cluster for tests that change settings.

The cluster itself (``initdb`` as the ``postgres`` OS user, ``pg_ctl`` on a free
port, removed at the end) lives in ``tests/pg_clusters.py``, shared with the
backfill's live health tests. The shared server's configuration is never touched.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg_clusters import Cluster, throwaway_cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster("schemaops-tune-") as made:
        yield made


@pytest.fixture
def clean_cluster(cluster: Cluster) -> Iterator[Cluster]:
    cluster.reset_all()
    yield cluster
    cluster.reset_all()
