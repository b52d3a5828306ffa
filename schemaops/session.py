"""The settings a Django connection puts on its session before any migration runs.

PostgreSQL takes them from libpq's ``options`` connection parameter, which
Django passes through from ``DATABASES[alias]["OPTIONS"]["options"]`` with
either driver: ``"-c lock_timeout=5s -c statement_timeout=0"``. A migration
run through that connection already has them, so the timeout rules must not
ask for what is set there. Django then sets the session's ``TimeZone`` itself,
which decides whether a ``timestamp`` / ``timestamptz`` change rewrites.
"""

from __future__ import annotations

import shlex
from typing import Any


def parse_options(options: str) -> dict[str, str]:
    """``-c name=value``, ``-cname=value`` and ``--name=value`` pairs of a libpq options string."""
    try:
        tokens = shlex.split(options)
    except ValueError:
        return {}
    out: dict[str, str] = {}
    pending = False
    for token in tokens:
        if pending or token.startswith(("-c", "--")):
            text = token if pending else token.removeprefix("--").removeprefix("-c")
            pending = not text and token == "-c"
            name, sep, value = text.partition("=")
            if sep:
                out[name.strip().lower().replace("-", "_")] = value.strip()
    return out


def connection_settings(alias: str) -> dict[str, str]:
    """The session settings of the project's database ``alias`` (none when not configured)."""
    from django.conf import settings

    if not settings.configured:
        return {}
    database: Any = getattr(settings, "DATABASES", {}).get(alias) or {}
    options = (database.get("OPTIONS") or {}).get("options")
    out = parse_options(options) if isinstance(options, str) else {}
    zone = _django_time_zone(settings, database)
    if zone:
        out["timezone"] = zone
    return out


def _django_time_zone(settings: Any, database: dict[str, Any]) -> str | None:
    """The TimeZone Django sets on every new connection (``ensure_timezone``), over any
    ``-c timezone``: the alias's ``TIME_ZONE`` or UTC with ``USE_TZ``, else the project's
    ``TIME_ZONE`` (as ``DatabaseWrapper.timezone_name``)."""
    if getattr(settings, "USE_TZ", False):
        return str(database.get("TIME_ZONE") or "UTC")
    zone = getattr(settings, "TIME_ZONE", None)
    return str(zone) if zone else None


def sets_timeout(settings_: dict[str, str], name: str) -> bool:
    """Is the timeout ``name`` set to something other than 0 (disabled)?"""
    value = settings_.get(name, "").strip().strip("'\"")
    return bool(value) and value.rstrip("smhd ") not in ("0", "")
