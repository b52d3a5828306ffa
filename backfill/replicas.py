"""Replication lag read on the replicas the project configures.

``pg_stat_replication`` on the primary only lists the standbys streaming from it
directly: a cascaded standby, one whose WAL receiver is down, or one fed from an
archive is missing there, yet the application may read from it. So every other
alias in ``DATABASES`` that is a standby of the run's server (in recovery, same
``system_identifier``) is asked how far behind it is: bytes between the primary's
current WAL position and its replay position, and seconds since its last replayed
transaction while it has WAL still to replay.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("schemaops.backfill")

_IDENTITY_SQL = "SELECT system_identifier, pg_is_in_recovery() FROM pg_control_system()"
_LAG_SQL = """
SELECT greatest(pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()), 0)::bigint,
       CASE WHEN pg_last_wal_replay_lsn() >= %s::pg_lsn THEN 0
            ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0)
       END::float8
"""


def standbys_of(alias: str) -> list[str]:
    """The other configured aliases that are standbys of ``alias``'s server; an alias
    that cannot be reached is left out with a warning (it cannot be asked anyway)."""
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(_IDENTITY_SQL)
        primary_id = cursor.fetchone()[0]
    found = []
    for other in connections.settings:
        if other == alias:
            continue
        try:
            with connections[other].cursor() as cursor:
                cursor.execute(_IDENTITY_SQL)
                system_id, in_recovery = cursor.fetchone()
        except Exception as exc:  # any driver error: a replica that is down is not asked
            log.warning(f"event=replica alias={other} error={type(exc).__name__}")
            continue
        if in_recovery and system_id == primary_id:
            found.append(other)
    return found


def lag(alias: str, standbys: list[str]) -> tuple[int, float, str]:
    """The largest (bytes, seconds) behind among ``standbys``, and which one it is."""
    from django.db import connections

    if not standbys:
        return 0, 0.0, ""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        position = cursor.fetchone()[0]
    worst: tuple[int, float, str] = (0, 0.0, "")
    for other in standbys:
        behind = _behind(other, position)
        if behind is not None and behind > worst[:2]:
            worst = (*behind, other)
    return worst


def _behind(alias: str, position: Any) -> tuple[int, float] | None:
    from django.db import connections

    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(_LAG_SQL, [position, position])
            nbytes, seconds = cursor.fetchone()
    except Exception as exc:  # a replica gone meanwhile: not asked this time
        log.warning(f"event=replica alias={alias} error={type(exc).__name__}")
        connections[alias].close()
        return None
    return int(nbytes), float(seconds)
