"""What ``schemaops tune`` buys on this machine: pgbench TPS before and after.

    .venv/bin/python bench/tune_bench.py                       # scale 50, 60s per run
    .venv/bin/python bench/tune_bench.py --quick               # scale 5, 5s per run (smoke)
    .venv/bin/python bench/tune_bench.py -- --workload oltp    # extra args for schemaops tune

Runs ``schemaops tune --bench`` against a THROWAWAY cluster (``initdb`` into
a temporary folder as the ``postgres`` OS user, on a free port), so the
shared server is never reconfigured. The cluster starts with PostgreSQL's
defaults (shared_buffers 128MB, work_mem 4MB...); the pgbench data set is
larger than 128MB (scale 50 is about 750MB). ``--restart-command`` uses
pg_ctl, so restart-only settings (shared_buffers, wal_buffers, huge_pages)
are in effect for the "after" runs. Prints the before/after TPS and the
ratio for read-only (-S) and read-write (TPC-B-like) runs, then stops the
cluster and removes it.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def bindir() -> Path:
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cluster(base: Path, port: int) -> list[str]:
    """initdb + start; returns the pg_ctl prefix for restart/stop."""
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(base, entry.pw_uid, entry.pw_gid)
    data = base / "data"
    initdb = [str(bindir() / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    subprocess.run(as_postgres(initdb), check=True, capture_output=True)
    pg_ctl = as_postgres([str(bindir() / "pg_ctl"), "-D", str(data), "-w", "-t", "120"])
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    subprocess.run([*pg_ctl, "-l", str(base / "log"), "-o", options, "start"], check=True)
    return pg_ctl


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="scale 5, 5s runs (smoke test)")
    parser.add_argument("--scale", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("extra", nargs="*", help="more `schemaops tune` options, after --")
    args = parser.parse_args()
    scale, seconds = (5, 5) if args.quick else (args.scale, args.seconds)

    base = Path(tempfile.mkdtemp(prefix="schemaops-tune-bench-"))
    port = free_port()
    pg_ctl = start_cluster(base, port)
    restart = shlex.join([*pg_ctl, "-l", str(base / "log"), "restart"])
    command = [
        sys.executable, "-m", "schemaops", "tune",
        "--dsn", f"postgresql://postgres@127.0.0.1:{port}/postgres",
        "--bench", "--yes", "--restart-command", restart,
        "--bench-scale", str(scale), "--bench-seconds", str(seconds),
        "--bench-clients", str(args.clients), *args.extra,
    ]  # fmt: skip
    try:
        print("$", shlex.join(command[1:]), flush=True)
        return subprocess.run(command).returncode
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
