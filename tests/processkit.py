"""Helpers for tests that run the console script under a driver and watch its processes.

Used by tests/gate/test_shards.py and tests/test_precompile.py: a command started
as a user starts it (``python -m schemaops``, or ``python -c DRIVER`` where the
driver wraps the parts under test and reports on stderr), its result, and the
processes it leaves, read from ``/proc``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Run:
    """A finished command: exit status, stdout, stderr, pid."""

    code: int
    out: bytes
    err: str
    pid: int


def start(
    root: Path, env: dict[str, str], args: list[str], driver: str | None, new_session: bool = False
) -> Any:
    """``python -c driver *args`` (or ``python -m schemaops *args``) in ``root``."""
    command = ["-c", driver] if driver is not None else ["-m", "schemaops"]
    return subprocess.Popen(
        [sys.executable, *command, *args],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=new_session,
        preexec_fn=_as_in_a_terminal,
    )


def _as_in_a_terminal() -> None:
    """Ctrl-C as a terminal's foreground command gets it: a test suite run in the
    background of a script (``.ci/test`` runs one pair so) inherits SIGINT ignored, and
    Python leaves an ignored SIGINT ignored (no KeyboardInterrupt at all)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def finish(proc: Any, timeout: float) -> tuple[int, bytes, str, int]:
    """(status, stdout, stderr, pid) once ``proc`` ends."""
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err.decode(), proc.pid


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, the fields after the command name in /proc/PID/stat) of every process:
    field 0 is the state, 1 the parent's pid, 2 the process group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        yield int(stat.parent.name), fields


def reaped(pid: int) -> bool:
    """Is ``pid`` no child of ours any more (ended and waited for)?"""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def script_output(root: Path, env: dict[str, str], script: str) -> str:
    """What ``python -c script`` prints, run in ``root``; its failure fails the test."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def script_json(root: Path, env: dict[str, str], script: str) -> Any:
    """:func:`script_output` read as JSON."""
    import json

    return json.loads(script_output(root, env, script))
