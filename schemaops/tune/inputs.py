"""What ``schemaops tune`` computes from: the machine, the workload and the server.

:class:`MachineProfile` holds PGTune's inputs (RAM, CPUs, storage, max
connections, workload, PostgreSQL version, database size versus RAM, OS) plus
where each one came from (``sources``: given on the command line, detected,
or assumed). :func:`build_profile` merges command-line values, facts read from
the server and facts read from this machine (see :mod:`schemaops.tune.detect`),
in that order of precedence.

Public API (stable): :class:`MachineProfile`, :func:`parse_memory`,
:func:`format_memory`, :func:`build_profile`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemaops.errors import ConfigError

__all__ = [
    "DB_SIZES",
    "STORAGE_TYPES",
    "WORKLOADS",
    "MachineProfile",
    "approx_memory",
    "build_profile",
    "db_size_bucket",
    "format_memory",
    "parse_memory",
]

KB_PER_MB = 1024
KB_PER_GB = 1024 * 1024
STORAGE_TYPES = ("ssd", "nvme", "hdd", "san")
WORKLOADS = ("web", "oltp", "dw", "mixed", "desktop")
DB_SIZES = ("less_ram", "mid_ram", "greater_ram")
OS_TYPES = ("linux", "windows", "mac")
MIN_PG_VERSION = 10  # PGTune's oldest supported version
# PostgreSQL refuses to start when max_connections + max_worker_processes + autovacuum
# workers (5 at most here) + max_wal_senders (10 by default) + 1 exceeds MAX_BACKENDS.
MAX_BACKENDS = 0x3FFFF
_OTHER_PROCESSES = 5 + 10 + 1
_UNITS_KB = {"k": 1, "m": KB_PER_MB, "g": KB_PER_GB, "t": KB_PER_GB * 1024}
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt])i?b?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class MachineProfile:
    """PGTune's inputs for one server. Validated on construction (ConfigError).

    ``ram_kb`` is the memory PostgreSQL may use, in kB. ``cpus`` and
    ``max_connections`` may be None (PGTune then skips parallel settings and
    uses the workload's default connection count). ``available`` maps a
    setting name to the enum values the target server accepts (from
    ``pg_settings.enumvals``); empty means "unknown, assume PGTune's value
    works". ``sources`` maps each input name to a short note such as
    ``"given (--memory)"``, ``"detected: cgroup v2 memory.max"`` or
    ``"assumed: PGTune default"``.
    """

    ram_kb: int
    cpus: int | None = None
    storage: str = "ssd"
    max_connections: int | None = None
    workload: str = "web"
    pg_version: int = 18
    db_size: str = "mid_ram"
    os_type: str = "linux"
    available: Mapping[str, frozenset[str]] = field(default_factory=dict, compare=False)
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _choice("storage", self.storage, STORAGE_TYPES)
        _choice("workload", self.workload, WORKLOADS)
        _choice("db size", self.db_size, DB_SIZES)
        _choice("os", self.os_type, OS_TYPES)
        if self.ram_kb < 256 * KB_PER_MB:
            raise ConfigError(f"memory {approx_memory(self.ram_kb)} is too small (at least 256MB)")
        if self.cpus is not None and self.cpus < 1:
            raise ConfigError(f"--cpus must be at least 1, not {self.cpus}")
        if self.max_connections is not None and self.max_connections < 1:
            raise ConfigError(f"--max-connections must be positive, not {self.max_connections}")
        processes = (self.max_connections or 0) + (self.cpus or 8) + _OTHER_PROCESSES
        if processes > MAX_BACKENDS:
            raise ConfigError(
                f"--max-connections {self.max_connections} and --cpus {self.cpus} ask for "
                f"more server processes than PostgreSQL allows ({MAX_BACKENDS:,})"
            )
        if self.pg_version < MIN_PG_VERSION:
            raise ConfigError(f"PostgreSQL {self.pg_version} is not supported (10 or newer)")

    def accepts(self, name: str, value: str) -> bool:
        """False only when the server is known not to accept ``value`` for ``name``."""
        allowed = self.available.get(name)
        return not allowed or value in allowed

    def inputs(self) -> dict[str, Any]:
        """The inputs as plain data, for JSON output and the text header."""
        return {
            "memory": approx_memory(self.ram_kb),
            "cpus": self.cpus,
            "storage": self.storage,
            "max_connections": self.max_connections,
            "workload": self.workload,
            "pg_version": self.pg_version,
            "db_size": self.db_size,
            "os": self.os_type,
        }


def _choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; choose from {', '.join(choices)}")


def parse_memory(text: str) -> int:
    """``"8GB"``, ``"512MB"``, ``"16g"``, ``"1.5TB"`` -> kB. ConfigError otherwise."""
    match = _MEMORY.match(text)
    if not match:
        raise ConfigError(f"cannot read memory size {text!r}; write it like 8GB or 512MB")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * _UNITS_KB[unit])


def format_memory(kb: int) -> str:
    """PGTune's display: the largest of GB, MB, kB that represents ``kb`` exactly."""
    if kb % KB_PER_GB == 0:
        return f"{kb // KB_PER_GB}GB"
    if kb % KB_PER_MB == 0:
        return f"{kb // KB_PER_MB}MB"
    return f"{kb}kB"


def approx_memory(kb: int) -> str:
    """A short human reading of a size: 23.5GB, 512MB, 800kB (for text, not settings)."""
    for unit, size in (("TB", KB_PER_GB * 1024), ("GB", KB_PER_GB), ("MB", KB_PER_MB)):
        if kb >= size:
            return f"{kb / size:.1f}".removesuffix(".0") + unit
    return f"{kb}kB"


def readable(setting: str) -> str:
    """A setting as people read it: ``18512844kB`` -> ``17.7GB``; anything else unchanged."""
    if not setting.endswith("kB") or not setting[:-2].isdigit():
        return setting
    kb = int(setting[:-2])
    return approx_memory(kb) if kb >= KB_PER_MB else setting


def db_size_bucket(db_bytes: int, ram_kb: int) -> str:
    """PGTune's dbSize from the total size of the databases and the RAM."""
    ratio = db_bytes / (ram_kb * 1024)
    if ratio < 1:
        return "less_ram"
    return "mid_ram" if ratio <= 3 else "greater_ram"


# Defaults when nothing was given or detected, with the reason printed to the user.
ASSUMED: dict[str, tuple[Any, str]] = {
    "storage": ("ssd", "assumed: ssd (PGTune's default; give --storage)"),
    "workload": ("web", "assumed: web (PGTune's default; give --workload)"),
    "db_size": ("mid_ram", "assumed: 1x-3x RAM (PGTune's default; give --db-size)"),
    "os_type": ("linux", "assumed: linux"),
    "cpus": (None, "unknown: no parallel settings (give --cpus)"),
    "max_connections": (None, "assumed: PGTune's default for the workload"),
}


def build_profile(
    given: Mapping[str, Any], detected: Mapping[str, tuple[Any, str]]
) -> MachineProfile:
    """Merge inputs: command line first, then detected ``(value, how)``, then defaults.

    ``given`` uses MachineProfile field names (None = not given); ``detected``
    maps field names to the value and a note saying how it was found.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in ("ram_kb", "pg_version", *ASSUMED):
        if given.get(name) is not None:
            values[name], sources[name] = given[name], "given"
        elif name in detected and detected[name][0] is not None:
            values[name], sources[name] = detected[name]
        elif name in ASSUMED:
            values[name], sources[name] = ASSUMED[name]
    if "ram_kb" not in values:
        raise ConfigError("cannot tell how much memory the server has; give --memory (e.g. 16GB)")
    if "pg_version" not in values:
        why = detected.get("pg_version", (None, "no server reached"))[1]
        raise ConfigError(
            f"which PostgreSQL version are the settings for? {why}; give --pg-version"
        )
    if given.get("db_size") is None and "db_bytes" in detected:
        db_bytes, how = detected["db_bytes"]
        values["db_size"] = db_size_bucket(db_bytes, values["ram_kb"])
        sources["db_size"] = f"{how} ({approx_memory(db_bytes // 1024)} of data)"
    available = detected.get("available", ({}, ""))[0]
    return MachineProfile(**values, available=available, sources=sources)
