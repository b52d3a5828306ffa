"""Apply proposals with ALTER SYSTEM, and put the previous values back.

``apply_rows`` saves what ``postgresql.auto.conf`` held for each setting
before changing it (read from ``pg_file_settings``) in a JSON state file that
schemaops writes itself (default: ``$XDG_STATE_HOME/schemaops/``, one file per
cluster), runs ``ALTER SYSTEM SET`` for each row, ``pg_reload_conf()``, then
reads back what took effect and what waits for a restart. ``revert`` restores
the saved values (``ALTER SYSTEM RESET`` where there was none) and leaves a
setting alone if someone changed it after schemaops did. No configuration
file is ever written directly: the server writes ``postgresql.auto.conf``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemaops.driver import sql
from schemaops.errors import ConfigError
from schemaops.tune.diff import CHANGE, DiffRow, read_settings

STATE_VERSION = 1
_AUTO_CONF = "postgresql.auto.conf"


class NotSuperuser(ConfigError):
    """ALTER SYSTEM and pg_file_settings need a superuser."""


@dataclass
class ApplyResult:
    """What happened: settings changed, waiting for a restart, errors the server reported."""

    changed: list[str] = field(default_factory=list)
    live: list[str] = field(default_factory=list)
    needs_restart: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    state_file: str = ""


def require_superuser(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT current_user, current_setting('is_superuser')")
        user, is_super = cur.fetchone()
    if is_super != "on":
        raise NotSuperuser(
            f"role {user!r} is not a superuser: ALTER SYSTEM needs one "
            "(connect as postgres, or give the SQL from --format sql to a DBA)"
        )


def cluster_key(conn: Any) -> str:
    """system_identifier-port: names the state file of one cluster."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT system_identifier::text, current_setting('port') FROM pg_control_system()"
        )
        ident, port = cur.fetchone()
    return f"{ident}-{port}"


def default_state_file(conn: Any) -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "schemaops" / f"tune-{cluster_key(conn)}.json"


def auto_conf_values(conn: Any) -> dict[str, str]:
    """Settings written by ALTER SYSTEM, as postgresql.auto.conf holds them now."""
    with conn.cursor() as cur:
        cur.execute("SELECT sourcefile, name, setting FROM pg_file_settings ORDER BY seqno")
        rows = cur.fetchall()
    return {
        name: value for source, name, value in rows if source and Path(source).name == _AUTO_CONF
    }


def _load_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"version": STATE_VERSION, "settings": {}}
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read tune state file {path}: {exc}") from None
    return state


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _alter(conn: Any, name: str, value: str | None) -> None:
    with conn.cursor() as cur:
        if value is None:
            cur.execute(sql.SQL("ALTER SYSTEM RESET {}").format(sql.Identifier(name)))
        else:
            cur.execute(
                sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value))
            )


def apply_rows(conn: Any, rows: Iterable[DiffRow], state_file: Path | None = None) -> ApplyResult:
    """ALTER SYSTEM for every row whose status is "change"; save previous values first.

    A setting already in the state file keeps its first saved value, so
    applying twice and reverting once goes back to before the first apply.
    """
    require_superuser(conn)
    path = state_file or default_state_file(conn)
    state = _load_state(path)
    before = auto_conf_values(conn)
    todo = [row for row in rows if row.status == CHANGE]
    result = ApplyResult(state_file=str(path))
    for row in todo:
        saved = state["settings"].setdefault(row.name, {"before": before.get(row.name)})
        saved["applied"] = row.proposed
    _save_state(path, state)  # saved before the first ALTER SYSTEM, so a crash can be reverted
    for row in todo:
        _alter(conn, row.name, row.proposed)
        result.changed.append(row.name)
    _reload_and_check(conn, result)
    return result


def revert(conn: Any, state_file: Path | None = None) -> ApplyResult:
    """Put back what postgresql.auto.conf held before ``apply_rows``; remove the state file."""
    require_superuser(conn)
    path = state_file or default_state_file(conn)
    if not path.exists():
        raise ConfigError(f"nothing to revert: no tune state file at {path}")
    state = _load_state(path)
    now = auto_conf_values(conn)
    result = ApplyResult(state_file=str(path))
    for name, saved in state["settings"].items():
        if now.get(name) != saved.get("applied"):
            result.skipped.append(name)  # changed by someone else since: not ours to undo
            continue
        _alter(conn, name, saved.get("before"))
        result.changed.append(name)
    _reload_and_check(conn, result)
    path.unlink()
    return result


def _reload_and_check(conn: Any, result: ApplyResult, timeout: float = 5.0) -> None:
    """pg_reload_conf(), then sort changed settings into live / waiting for a restart."""
    loaded_before = _load_time(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_reload_conf()")
    deadline = time.monotonic() + timeout
    # The reload signal is asynchronous: wait until this backend has read the files again.
    while _load_time(conn) == loaded_before and time.monotonic() < deadline:
        time.sleep(0.1)
    settings = read_settings(conn, result.changed)
    result.needs_restart = sorted(n for n, s in settings.items() if s.pending_restart)
    result.live = [name for name in result.changed if name not in result.needs_restart]
    result.errors = _file_errors(conn, result.needs_restart)


def _load_time(conn: Any) -> Any:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_conf_load_time()")
        return cur.fetchone()[0]


def _file_errors(conn: Any, pending: list[str]) -> list[str]:
    """Errors the server found in its configuration files, except "needs a restart"."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT sourcefile, sourceline, name, error FROM pg_file_settings "
            "WHERE error IS NOT NULL"
        )
        rows = cur.fetchall()
    return [
        f"{Path(src).name if src else '?'}:{line}: {name or ''} {error}".strip()
        for src, line, name, error in rows
        if name not in pending
    ]
