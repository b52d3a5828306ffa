"""Health signals that hold or slow a backfill, and the decision they lead to.

Signals (read between batches, at most once per ``interval`` per worker):
- replication lag from ``pg_stat_replication`` (bytes behind ``pg_current_wal_lsn()``
  and ``replay_lag`` time) and from active logical slots (bytes);
- autovacuum running on the backfilled table (``pg_stat_progress_vacuum``, which lists
  every database's vacuums: a table OID alone also matches copies made from a template);
- a user hook (``module:function`` or ``Backfill.throttle``) returning a reason.
Lock waiters blocked behind a batch are counted inside the batch transaction, by
the checkpoint statement itself (``WAITERS_SQL``); the next batch is halved when any
session waited.

:func:`decide` is pure; every decision that is not "go" is logged by the runner.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from schemaops.errors import ConfigError


class Action(StrEnum):
    """What the health signals say a worker does before its next batch."""

    GO = "go"
    SLOW = "slow"
    HOLD = "hold"


class OnAutovacuum(StrEnum):
    """``--on-autovacuum``: what a run does while autovacuum works on its table."""

    IGNORE = "ignore"
    SLOW = "slow"
    HOLD = "hold"


GO, SLOW, HOLD = Action.GO, Action.SLOW, Action.HOLD


@dataclass(frozen=True)
class Thresholds:
    """Limits above which the backfill holds; ``on_autovacuum`` is ignore, slow or hold."""

    max_lag_bytes: int = 256 * 1024 * 1024
    max_lag_seconds: float = 30.0
    on_autovacuum: OnAutovacuum = OnAutovacuum.SLOW
    hook: str = ""

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Thresholds:
        known = {k: options[k] for k in cls.__dataclass_fields__ if k in options}
        if "on_autovacuum" in known:
            known["on_autovacuum"] = OnAutovacuum(known["on_autovacuum"])
        return cls(**known)


@dataclass(frozen=True)
class Signals:
    lag_bytes: int = 0
    lag_seconds: float = 0.0
    autovacuum: bool = False
    hook_reason: str | None = None
    lag_source: str = ""  # the configured replica the lag was read on ("": the primary's view)


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""


def decide(signals: Signals, limits: Thresholds) -> Decision:
    """Hold on lag or a hook, slow (or hold) while autovacuum works on the table, else go."""
    where = f" on replica {signals.lag_source}" if signals.lag_source else ""
    if limits.max_lag_bytes and signals.lag_bytes > limits.max_lag_bytes:
        return Decision(
            HOLD, f"replication lag{where} {signals.lag_bytes} B > {limits.max_lag_bytes} B"
        )
    if limits.max_lag_seconds and signals.lag_seconds > limits.max_lag_seconds:
        return Decision(
            HOLD,
            f"replication lag{where} {signals.lag_seconds:.1f}s > {limits.max_lag_seconds:.1f}s",
        )
    if signals.hook_reason:
        return Decision(HOLD, f"hook: {signals.hook_reason}")
    if signals.autovacuum and limits.on_autovacuum in (SLOW, HOLD):
        return Decision(Action(limits.on_autovacuum), "autovacuum is running on the table")
    return Decision(GO)


_LAG_SQL = """
SELECT greatest(
         (SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)) FROM pg_stat_replication),
         (SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn))
            FROM pg_replication_slots WHERE active AND slot_type = 'logical'),
         0)::bigint,
       coalesce((SELECT extract(epoch FROM max(replay_lag)) FROM pg_stat_replication), 0)::float8
"""

_AUTOVACUUM_SQL = """
SELECT EXISTS (
  SELECT 1 FROM pg_stat_progress_vacuum v JOIN pg_stat_activity a ON a.pid = v.pid
  WHERE v.relid = to_regclass(quote_ident(%s)) AND a.backend_type = 'autovacuum worker'
    AND v.datname = current_database())
"""

# OFFSET 0 keeps the planner from calling pg_blocking_pids() on every backend.
WAITERS_SQL = """
SELECT count(*) FROM (
  SELECT pid FROM pg_stat_activity
  WHERE wait_event_type = 'Lock' AND datname = current_database() OFFSET 0) w
WHERE pg_backend_pid() = ANY(pg_blocking_pids(w.pid))
"""


def read_signals(cursor: Any, table: str, hook: Callable[[], str | None] | None) -> Signals:
    """Read every signal with one cursor (outside any transaction)."""
    cursor.execute(_LAG_SQL)
    lag_bytes, lag_seconds = cursor.fetchone()
    cursor.execute(_AUTOVACUUM_SQL, [table])
    (autovacuum,) = cursor.fetchone()
    reason = hook() if hook else None
    return Signals(int(lag_bytes), float(lag_seconds), bool(autovacuum), reason or None)


def waiters_behind_me(cursor: Any) -> int:
    """Sessions of this database waiting for a lock this session holds."""
    cursor.execute(WAITERS_SQL)
    return int(cursor.fetchone()[0])


def load_hook(path: str) -> Callable[[], str | None]:
    """Import ``module:function``; the function returns a reason to hold, or None."""
    module_name, _, attr = path.partition(":")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError):
        raise ConfigError(f"cannot import throttle hook {path!r} (want module:function)") from None
    if not callable(func):
        raise ConfigError(f"throttle hook {path!r} is not callable")
    return func  # type: ignore[no-any-return]
