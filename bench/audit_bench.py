"""``schemaops audit`` on a fleet-sized database, each check timed beside its peer's queries.

    .venv/bin/python bench/audit_bench.py                      # 20,000 tables, 100,000 indexes
    .venv/bin/python bench/audit_bench.py --tables 2000        # smaller, for a smoke run
    .venv/bin/python bench/audit_bench.py --rebuild            # rebuild the kept database

The schema (``bench/audit_fleet.py``: tenant schemas, partitioned tables among
the plain ones, five indexes per relation) is built once in the database
``schemaops_auditbench`` on the local server (PGHOST etc., default
127.0.0.1:5432 as postgres) and kept while its parameters match.

Each run (median of ``--runs``) times, on fresh connections and interleaved:

* the full audit (every check that needs no Django models) in-process, and
  ``schemaops audit --format json`` end to end as a command;
* every check alone: what it costs when it is the only one run, catalog
  snapshot included;
* the peer's equivalent (``bench/audit_peers.py``: PgHero, pg-extras,
  active_record_doctor), only its database work.

The table prints ours alone, ours inside the full audit (the shared snapshot
is paid by the first check that needs it), the peer and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

sys.path.insert(0, str(Path(__file__).parent))
import audit_fleet
from _pg import PG as PARAMS
from _pg import connect as admin
from audit_peers import PEERS

DBNAME = "schemaops_auditbench"
MACHINE = {"ram_kb": 8 << 20}  # AU401 needs the server's RAM: fixed, so runs compare


def ensure_database(tables: int, schemas: int, rebuild: bool) -> None:
    conn = admin()
    try:
        kept = audit_fleet.kept_parameters(conn, DBNAME)
        if rebuild or kept != audit_fleet.wanted(tables, schemas):
            print(f"building {DBNAME}: {tables:,} tables in {schemas} schemas ...", flush=True)
            seconds = audit_fleet.build(conn, PARAMS, DBNAME, tables, schemas)
            print(f"built in {seconds:.0f} s")
    finally:
        conn.close()
    relations, indexes = audit_fleet.count_indexes(PARAMS, DBNAME)
    print(f"{DBNAME}: {relations:,} tables, {indexes:,} indexes in {schemas} schemas")


def audit(codes: list[str]) -> tuple[float, Any]:
    from schemaops.audit.runner import run_audit, select

    started = time.perf_counter()
    result = run_audit({**PARAMS, "dbname": DBNAME}, select(codes), machine=MACHINE)
    return time.perf_counter() - started, result


def audit_cpu() -> tuple[float, float, float]:
    """A full audit's wall time, this process's CPU time and its server backends' CPU time.

    The CPU seconds do not grow when other work shares the machine, the wall time
    does: on a busy machine they tell what an idle one would take (the local
    server only: the backends are read in /proc, by pid, before they exit).
    """
    from schemaops.audit import runner

    pids: list[int] = []
    backend_cpu: list[float] = []
    opened = runner.open_readonly

    def open_readonly(params: dict[str, Any], timeout: str) -> Any:
        conn = opened(params, timeout)
        pids.append(conn.get_backend_pid())
        return conn

    def progress(check: Any, done: int) -> None:
        if check is None:  # the end: both connections are still open
            backend_cpu.append(sum(_cpu_of(pid) for pid in pids))

    runner.open_readonly = open_readonly  # type: ignore[assignment]
    try:
        started, cpu = time.perf_counter(), time.process_time()
        runner.run_audit(
            {**PARAMS, "dbname": DBNAME}, runner.select([]), machine=MACHINE, progress=progress
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        runner.open_readonly = opened  # type: ignore[assignment]
    return wall, cpu, backend_cpu[0] if backend_cpu else float("nan")


def _cpu_of(pid: int) -> float:
    """User plus system CPU seconds of a local process (0 if it cannot be read)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command() -> float:
    """``schemaops audit`` as a user runs it: import, connect, every check, JSON out."""
    dsn = f"postgresql://{PARAMS['user']}@{PARAMS['host']}:{PARAMS['port']}/{DBNAME}"
    argv = [sys.executable, "-m", "schemaops", "audit", "--dsn", dsn, "--memory", "8GB"]
    started = time.perf_counter()
    out = subprocess.run(
        [*argv, "--format", "json", "-o", os.devnull], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if out.returncode not in (0, 1):
        raise SystemExit(f"schemaops audit failed: {out.stderr.strip()}")
    return elapsed


PEER_TIMEOUT = "60s"  # a peer query that runs longer counts as "> 60,000 ms"


def peer(code: str) -> float:
    conn = psycopg2.connect(dbname=DBNAME, **PARAMS)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:  # the connection is up, as ours is before a check
            cur.execute("SELECT set_config('statement_timeout', %s, false)", (PEER_TIMEOUT,))
        return PEERS[code].run(conn)
    except psycopg2.errors.QueryCanceled:
        return float("inf")
    finally:
        conn.close()


def measure(runs: int, codes: list[str], total_only: bool = False) -> dict[str, list[float]]:
    """Seconds per measurement name, one entry per run."""
    times: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    for run in range(runs):
        elapsed, result = audit(codes)
        record("total", elapsed)
        if result.failed:
            print(f"  run {run + 1}: failed checks: {result.failed}")
        for code, seconds in result.timings.items():
            record(f"{code}:full", seconds)
        record("findings", float(len(result.findings)))
        for code in [] if total_only else result.timings:
            if code in result.skipped:
                continue
            _, alone = audit([code])
            record(f"{code}:alone", alone.timings[code])
            record(f"{code}:findings", float(len(alone.findings)))
            if code in PEERS:
                record(f"{code}:peer", peer(code))
        record("command", command())
        wall, client, server = audit_cpu()
        record("cpu_wall", wall)
        record("cpu_client", client)
        record("cpu_server", server)
        print(f"  run {run + 1} of {runs}: full audit {elapsed:.2f} s", flush=True)
    return times


def report(times: dict[str, list[float]], runs: int) -> None:
    from schemaops.audit import CHECKS

    def ms(name: str) -> str:
        if name not in times:
            return "-"
        seconds = statistics.median(times[name])
        return f"> {PEER_TIMEOUT}" if seconds == float("inf") else f"{seconds * 1000:,.0f}"

    print(f"\nper check, milliseconds, median of {runs} runs (ours alone vs the peer's queries)")
    header = f"{'check':<6} {'name':<28} {'alone':>7} {'in full':>8} {'findings':>9}  "
    print(header + f"{'peer':<58} {'peer':>7} {'ratio':>6}")
    for code, chk in CHECKS.items():
        if f"{code}:alone" not in times:
            continue
        found = int(statistics.median(times[f"{code}:findings"]))
        line = f"{code:<6} {chk.name:<28} {ms(code + ':alone'):>7} {ms(code + ':full'):>8} "
        line += f"{found:>9,}  "
        if code in PEERS:
            ratio = statistics.median(times[f"{code}:alone"]) / statistics.median(
                times[f"{code}:peer"]
            )
            line += f"{PEERS[code].tool:<58} {ms(code + ':peer'):>7} {ratio:>6.2f}"
        else:
            line += "(no equivalent in PgHero, pg-extras or active_record_doctor)"
        print(line)
    total = times["total"]
    print(
        f"\nfull audit in-process: median {statistics.median(total):.2f} s "
        f"(min {min(total):.2f}, max {max(total):.2f}), "
        f"{int(statistics.median(times['findings'])):,} findings"
    )
    cli = statistics.median(times["command"])
    print(f"schemaops audit --format json (the command, end to end): median {cli:.2f} s")
    wall, client, server = (
        statistics.median(times[k]) for k in ("cpu_wall", "cpu_client", "cpu_server")
    )
    print(
        f"full audit CPU: {client:.2f} s in schemaops + {server:.2f} s in its server backends "
        f"(wall {wall:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", type=int, default=20_000)
    parser.add_argument("--schemas", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the kept database")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--check", action="append", default=[], help="only these checks")
    parser.add_argument(
        "--total-only", action="store_true", help="only the full audit: no checks alone, no peers"
    )
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    sources = [str(root / name) for name in ("schemaops", "checks", "backfill")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *sources], check=False)
    ensure_database(args.tables, args.schemas, args.rebuild)
    try:
        report(measure(args.runs, args.check, args.total_only), args.runs)
    finally:
        if args.drop:
            conn = admin()
            with conn.cursor() as cur:
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(DBNAME)))
            conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
