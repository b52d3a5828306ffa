"""The body of ``schemaops stats``: connect read-only, take the snapshot, write it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from schemaops.config import Config, ProjectOptions, project_config
from schemaops.db import connect, connection_params
from schemaops.reporting import emit


@dataclass(frozen=True)
class StatsOptions:
    """Everything ``schemaops stats`` takes; None means "not given"."""

    project: ProjectOptions = field(default_factory=ProjectOptions)
    dsn: str | None = None
    timeout: str = "30s"  # statement_timeout and lock_timeout of the snapshot's queries
    output: str | None = None

    def config(self) -> Config:
        return project_config(self.project)


def target_params(options: StatsOptions) -> dict[str, Any]:
    """``--dsn``, else the Django alias when a project is configured, else PG* variables."""
    cfg = options.config()
    use_django = bool(cfg.settings) and not options.dsn
    if use_django:
        from schemaops.project import setup_django

        setup_django(cfg)
    return connection_params(dsn=options.dsn, alias=cfg.database, use_django=use_django)


def take(options: StatsOptions) -> dict[str, Any]:
    """The snapshot of the target database (see :mod:`schemaops.stats.snapshot`)."""
    from schemaops.stats.snapshot import take_snapshot

    conn = connect(target_params(options), readonly=True, application_name="schemaops stats")
    try:
        return take_snapshot(conn, timeout=options.timeout)
    finally:
        conn.close()


def run_stats(options: StatsOptions) -> int:
    """Take the snapshot and write it as JSON to ``options.output`` or stdout; exit status 0."""
    emit(json.dumps(take(options), indent=2), options.output)
    return 0
