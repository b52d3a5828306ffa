"""The body of ``schemaops stats``: connect read-only, take the snapshot, return it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from schemaops.config import Config
from schemaops.db import connect, connection_params


@dataclass(frozen=True)
class StatsOptions:
    """What ``schemaops stats`` was asked for."""

    config: Config
    dsn: str | None = None
    timeout: str = "30s"
    use_django: bool = False  # take the server from the Django alias config.database


def target_params(options: StatsOptions) -> dict[str, Any]:
    """``--dsn``, else the Django alias when a project is configured, else PG* variables."""
    if options.use_django and not options.dsn:
        from schemaops.project import setup_django

        setup_django(options.config)
    return connection_params(
        dsn=options.dsn, alias=options.config.database, use_django=options.use_django
    )


def run_stats(options: StatsOptions) -> dict[str, Any]:
    """The snapshot of the target database (see :mod:`schemaops.stats.snapshot`)."""
    from schemaops.stats.snapshot import take_snapshot

    conn = connect(target_params(options), readonly=True, application_name="schemaops stats")
    try:
        return take_snapshot(conn, timeout=options.timeout)
    finally:
        conn.close()


def to_json(snapshot: dict[str, Any]) -> str:
    return json.dumps(snapshot, indent=2, sort_keys=False)
