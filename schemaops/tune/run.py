"""One tuning pass: find the server, gather inputs, propose, diff.

:func:`plan` is what the CLI (and ``schemaops audit``) calls. It never prints:
it returns a :class:`TunePlan` the renderers turn into text, JSON, a
``postgresql.conf`` snippet or ``ALTER SYSTEM`` statements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemaops import db
from schemaops.errors import DatabaseUnavailable
from schemaops.tune.detect import offline_inputs, server_inputs
from schemaops.tune.diff import DiffRow, compute_diff, diff_rows
from schemaops.tune.formulas import Proposal, propose, warnings
from schemaops.tune.inputs import MachineProfile, build_profile


@dataclass
class Target:
    """Where the server is: libpq parameters, and whether the user named it explicitly."""

    params: dict[str, Any]
    explicit: bool
    config_pg_version: int | None = None


@dataclass
class TunePlan:
    """The inputs, the proposals and their diff against the server (if one was reached)."""

    profile: MachineProfile
    proposals: dict[str, Proposal]
    rows: list[DiffRow]
    target: str | None
    offline_reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[DiffRow]:
        return [row for row in self.rows if row.status == "change"]


def _connected_label(conn: Any) -> str:
    """user@host:port/dbname as libpq resolved it (no password)."""
    info = conn.info
    return db.describe(
        {"user": info.user, "host": info.host, "port": info.port, "dbname": info.dbname}
    )


def plan(target: Target | None, given: Mapping[str, Any], root: Path = Path("/")) -> TunePlan:
    """Propose settings for ``target`` (None = no server) with ``given`` inputs first.

    An explicitly named server that cannot be reached is an error; the
    default one (PG* variables, or a project found by its config) falls back
    to a proposal from the inputs alone, and says so.
    """
    if target is None:
        return _offline(given, None, "no server (--offline)", root)
    try:
        conn = db.connect(target.params, readonly=True, application_name="schemaops tune")
    except DatabaseUnavailable as exc:
        if target.explicit:
            raise
        return _offline(given, target, str(exc), root)
    try:
        detected = server_inputs(conn, target.params, root)
        profile = build_profile(given, detected)
        proposals = propose(profile)
        rows = compute_diff(conn, proposals)
        label = _connected_label(conn)
    finally:
        conn.close()
    return TunePlan(profile, proposals, rows, label, notes=warnings(profile))


def _offline(given: Mapping[str, Any], target: Target | None, reason: str, root: Path) -> TunePlan:
    detected = offline_inputs(root)
    if target and target.config_pg_version:
        detected["pg_version"] = (target.config_pg_version, "from [tool.schemaops] pg-version")
    profile = build_profile(given, detected)
    proposals = propose(profile)
    rows = diff_rows(proposals, None)
    return TunePlan(profile, proposals, rows, None, offline_reason=reason, notes=warnings(profile))
