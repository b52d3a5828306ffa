"""Measure what tuning buys: pgbench before and after the proposed settings.

:func:`run_bench` creates a scratch database, fills it with ``pgbench -i``
at a scale whose data is larger than PostgreSQL's default 128MB of
shared_buffers (scale 20 is about 300MB), runs a read-only (``-S``) and a
read-write (TPC-B-like) pgbench, applies the proposals, restarts the server
when a restart command is given (otherwise restart-only settings are not in
effect and the report says so), runs both again, then puts the previous
settings back (unless ``keep``) and drops the scratch database.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemaops import db
from schemaops.driver import sql
from schemaops.errors import ConfigError, DatabaseUnavailable, RunFailed
from schemaops.tune import apply
from schemaops.tune.diff import DiffRow

_TPS = re.compile(r"^tps = ([0-9.]+)", re.MULTILINE)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    scale: int = 20
    seconds: int = 30
    clients: int = 4
    restart_command: str | None = None
    keep: bool = False  # keep the applied settings (--apply --bench)
    state_file: Path | None = None


@dataclass
class BenchRun:
    mode: str  # "read-only" | "read-write"
    tps_before: float
    tps_after: float

    @property
    def ratio(self) -> float:
        return self.tps_after / self.tps_before if self.tps_before else float("nan")


@dataclass
class BenchReport:
    options: BenchOptions
    runs: list[BenchRun] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    restarted: bool = False
    not_in_effect: list[str] = field(default_factory=list)
    kept: bool = False


def pgbench_path() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    try:
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        bindir = ""
    candidate = Path(bindir) / "pgbench"
    if not candidate.exists():
        raise ConfigError("pgbench not found on PATH or in `pg_config --bindir`")
    return str(candidate)


def _libpq_args(params: dict[str, Any], dbname: str) -> tuple[list[str], dict[str, str]]:
    """pgbench connection flags; the password goes through the environment, never argv."""
    args = []
    for flag, key in (("-h", "host"), ("-p", "port"), ("-U", "user")):
        if params.get(key):
            args += [flag, str(params[key])]
    env = dict(os.environ)
    if params.get("password"):
        env["PGPASSWORD"] = str(params["password"])
    return [*args, dbname], env


def _pgbench(params: dict[str, Any], dbname: str, extra: list[str]) -> str:
    conn_args, env = _libpq_args(params, dbname)
    done = subprocess.run(
        [pgbench_path(), *extra, *conn_args], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pgbench failed"])[-1]
        raise RunFailed(f"pgbench {' '.join(extra[:2])} failed: {db.redact(last)}")
    return done.stdout


def measure(params: dict[str, Any], dbname: str, opts: BenchOptions, read_only: bool) -> float:
    """Transactions per second of one pgbench run (-S when read_only)."""
    jobs = str(min(opts.clients, os.cpu_count() or 1))
    extra = ["-T", str(opts.seconds), "-c", str(opts.clients), "-j", jobs]
    out = _pgbench(params, dbname, (["-S"] if read_only else []) + extra)
    match = _TPS.search(out)
    if not match:
        raise RunFailed("pgbench printed no tps line")
    return float(match.group(1))


def _measure_both(params: dict[str, Any], dbname: str, opts: BenchOptions) -> list[float]:
    return [measure(params, dbname, opts, read_only) for read_only in (True, False)]


def restart(params: dict[str, Any], command: str, timeout: float = 120) -> None:
    """Run the user's restart command, then wait until the server accepts connections."""
    done = subprocess.run(shlex.split(command), capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RunFailed(f"restart command failed ({done.returncode}): {last}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.connect(params, connect_timeout=2).close()
            return
        except DatabaseUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _scratch(params: dict[str, Any], name: str, create: bool) -> None:
    admin = {**params, "dbname": params.get("dbname") or "postgres"}
    with db.connected(admin) as conn, conn.cursor() as cur:
        if create:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def run_bench(
    params: dict[str, Any],
    rows: Iterable[DiffRow],
    opts: BenchOptions,
    progress: Progress = lambda message: None,
) -> BenchReport:
    """Before/after pgbench for ``rows`` (the settings to change); always cleans up."""
    rows = list(rows)
    with db.connected(params) as conn:
        apply.require_superuser(conn)
    name = f"schemaops_bench_{uuid.uuid4().hex[:8]}"
    scratch_state = None if opts.keep or opts.state_file else Path(tempfile.mkdtemp()) / "s.json"
    state = opts.state_file or scratch_state
    report = BenchReport(opts, kept=opts.keep)
    _scratch(params, name, create=True)
    try:
        progress(f"pgbench -i -s {opts.scale} into scratch database {name}")
        _pgbench(params, name, ["-i", "-q", "-s", str(opts.scale)])
        measure(params, name, BenchOptions(seconds=5, clients=opts.clients), True)  # warm-up
        progress(f"before: read-only and read-write, {opts.seconds}s each")
        before = _measure_both(params, name, opts)
        _apply_for_bench(params, rows, state, opts, report, progress)
        progress(f"after: read-only and read-write, {opts.seconds}s each")
        after = _measure_both(params, name, opts)
        report.runs = [
            BenchRun(mode, b, a)
            for mode, b, a in zip(("read-only", "read-write"), before, after, strict=True)
        ]
    finally:
        _cleanup(params, name, state, opts, report, progress)
    return report


def _apply_for_bench(
    params: dict[str, Any],
    rows: list[DiffRow],
    state: Path | None,
    opts: BenchOptions,
    report: BenchReport,
    progress: Progress,
) -> None:
    with db.connected(params) as conn:
        outcome = apply.apply_rows(conn, rows, state)
    report.applied = outcome.changed
    progress(f"applied {len(outcome.changed)} settings")
    if outcome.needs_restart and opts.restart_command:
        progress("restarting the server for " + ", ".join(outcome.needs_restart))
        restart(params, opts.restart_command)
        report.restarted = True
    else:
        report.not_in_effect = outcome.needs_restart


def _cleanup(
    params: dict[str, Any],
    name: str,
    state: Path | None,
    opts: BenchOptions,
    report: BenchReport,
    progress: Progress,
) -> None:
    if state is not None and state.exists() and not opts.keep:
        with db.connected(params) as conn:
            outcome = apply.revert(conn, state)
        progress(f"restored {len(outcome.changed)} settings")
        if report.restarted and opts.restart_command:
            restart(params, opts.restart_command)
    if state is not None and not opts.state_file and not opts.keep:
        shutil.rmtree(state.parent, ignore_errors=True)
    _scratch(params, name, create=False)
    progress(f"dropped {name}")
