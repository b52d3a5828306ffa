"""Compare proposals with the server's ``pg_settings``.

Each :class:`DiffRow` carries the current and proposed values, the unit, the
reason, and whether a change needs a restart (``pg_settings.context`` is
``postmaster``). Numeric values within 5% of the proposal count as already
tuned, as in timescaledb-tune: nobody should restart a server to move
shared_buffers from 2000MB to 2048MB.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from schemaops.driver import sql
from schemaops.tune.formulas import Proposal

TOLERANCE = 0.05
# pg_settings.unit -> kB per unit (memory settings only)
_MEMORY_UNITS = {
    "B": 1 / 1024,
    "kB": 1,
    "8kB": 8,
    "16kB": 16,
    "32kB": 32,
    "MB": 1024,
    "GB": 1 << 20,
}
_QUERY = sql.SQL(
    "SELECT name, setting, unit, context, vartype, current_setting(name), pending_restart "
    "FROM pg_settings WHERE name = ANY(%s)"
)

CHANGE, SAME, UNKNOWN, OFFLINE = "change", "same", "unknown to server", "no server"


@dataclass(frozen=True)
class ServerSetting:
    """One row of pg_settings, as far as tune needs it."""

    name: str
    setting: str
    unit: str | None
    context: str
    vartype: str
    display: str  # current_setting(): '128MB', 'on'
    pending_restart: bool


@dataclass(frozen=True)
class DiffRow:
    """A proposal next to the server's current value."""

    name: str
    current: str | None
    proposed: str
    unit: str | None
    why: str
    context: str | None
    needs_restart: bool
    status: str  # change | same | unknown to server | no server

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_settings(conn: Any, names: list[str]) -> dict[str, ServerSetting]:
    """The pg_settings rows for ``names`` that this server has."""
    with conn.cursor() as cur:
        cur.execute(_QUERY, (names,))
        return {row[0]: ServerSetting(*row) for row in cur.fetchall()}


def current_kb(row: ServerSetting) -> float | None:
    """A memory setting's value in kB, or None (not memory, or -1 meaning automatic)."""
    factor = _MEMORY_UNITS.get(row.unit or "")
    if factor is None or row.setting.startswith("-"):
        return None
    return float(row.setting) * factor


def is_close(proposal: Proposal, row: ServerSetting) -> bool:
    """True when the server already runs with (about) the proposed value."""
    if proposal.unit == "kB":
        now = current_kb(row)
        return now is not None and _within(now, float(proposal.value))
    if row.vartype in {"integer", "real"}:
        return _within(float(row.setting), float(proposal.value))
    return row.setting.lower() == str(proposal.value).lower()


def _within(current: float, proposed: float) -> bool:
    if proposed == 0:
        return current == 0
    return abs(current - proposed) <= TOLERANCE * abs(proposed)


def diff_rows(
    proposals: Mapping[str, Proposal], settings: Mapping[str, ServerSetting] | None
) -> list[DiffRow]:
    """One row per proposal; ``settings=None`` means no server (everything is new)."""
    rows = []
    for name, proposal in proposals.items():
        row = settings.get(name) if settings is not None else None
        if settings is None:
            status = OFFLINE
        elif row is None:
            status = UNKNOWN
        else:
            status = SAME if is_close(proposal, row) else CHANGE
        rows.append(
            DiffRow(
                name=name,
                current=row.display if row else None,
                proposed=proposal.setting,
                unit=proposal.unit,
                why=proposal.why,
                context=row.context if row else None,
                needs_restart=bool(row and row.context == "postmaster"),
                status=status,
            )
        )
    return rows


def compute_diff(conn: Any, proposals: Mapping[str, Proposal]) -> list[DiffRow]:
    return diff_rows(proposals, read_settings(conn, list(proposals)))
