"""The PostgreSQL major version installed on this machine, for tuning without a server.

``pg_lsclusters`` (Debian's postgresql-common) lists the clusters that exist;
else ``pg_config --version`` names the installation on PATH. Several
clusters of different versions, or none at all, give no answer: then the
user must say which version the settings are for (``--pg-version``).
"""

from __future__ import annotations

import shutil
import subprocess


def _run(*args: str) -> str | None:
    if shutil.which(args[0]) is None:
        return None
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def _major(version: str) -> int | None:
    """``15``, ``15.20``, ``9.6`` -> the major version (``9.6`` is below what tune supports)."""
    head = version.split(".")[0]
    return int(head) if head.isdigit() else None


def from_clusters(listing: str) -> set[int]:
    """Major versions in ``pg_lsclusters --no-header`` output (first column)."""
    versions = set()
    for line in listing.splitlines():
        fields = line.split()
        if fields and (major := _major(fields[0])) is not None:
            versions.add(major)
    return versions


def from_pg_config(output: str) -> int | None:
    """The major version in ``pg_config --version`` output: ``PostgreSQL 15.20 (Debian ...)``."""
    words = output.split()
    if len(words) >= 2 and words[0] == "PostgreSQL":
        return _major(words[1])
    return None


def local_pg_version() -> tuple[int | None, str]:
    """``(major, how)`` of the local installation, or ``(None, why not)``."""
    listing = _run("pg_lsclusters", "--no-header")
    if listing:
        versions = from_clusters(listing)
        if len(versions) == 1:
            major = versions.pop()
            return major, f"detected (no server): the local cluster (pg_lsclusters) is {major}"
        if len(versions) > 1:
            found = ", ".join(map(str, sorted(versions)))
            return None, f"this machine has clusters of several versions ({found})"
    output = _run("pg_config", "--version")
    installed = from_pg_config(output) if output else None
    if installed is not None:
        return installed, f"detected (no server): pg_config --version says {installed}"
    return None, "no local PostgreSQL installation found (pg_lsclusters, pg_config)"
