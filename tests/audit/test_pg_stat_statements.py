"""AU103 end to end: a throwaway cluster with pg_stat_statements preloaded, a slow query,
and the suggestion as an AddIndexConcurrently-ready fix (the shared server is never changed)."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from schemaops.audit import Thresholds
from schemaops.audit.runner import run_audit, select


def _bindir() -> Path:
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="module")
def pgss() -> Iterator[dict[str, str]]:
    base = Path(tempfile.mkdtemp(prefix="schemaops-audit-pgss-"))
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(base, entry.pw_uid, entry.pw_gid)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = base / "data"
    initdb = [str(_bindir() / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    pg_ctl = _as_postgres([str(_bindir() / "pg_ctl"), "-D", str(data), "-w", "-t", "60"])
    options = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 "
        "-c shared_preload_libraries=pg_stat_statements -c shared_buffers=32MB"
    )
    subprocess.run(
        [*pg_ctl, "-l", str(base / "log"), "-o", options, "start"], check=True, capture_output=True
    )
    try:
        yield {"host": "127.0.0.1", "port": str(port), "user": "postgres", "dbname": "postgres"}
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_slow_query_gets_a_proven_index_suggestion(pgss):
    conn = psycopg2.connect(**pgss)
    conn.autocommit = True
    with conn.cursor() as cur:
        for statement in (
            "CREATE EXTENSION pg_stat_statements",
            "CREATE EXTENSION hypopg",
            "CREATE TABLE events (id int PRIMARY KEY, account_id int, kind text)",
            "INSERT INTO events SELECT g, g % 20000, 'k' || (g % 7) "
            "FROM generate_series(1, 300000) g",
            "ANALYZE events",
            "SELECT pg_stat_statements_reset()",
        ):
            cur.execute(statement)
        for n in range(60):  # 60 calls of a sequential scan, each well over 1 ms
            cur.execute("SELECT count(*) FROM events WHERE account_id = %s", (n,))
    conn.close()
    result = run_audit(pgss, select(["AU103"]), thresholds=Thresholds(slow_query_min_ms=1.0))
    assert not result.failed and not result.skipped, (result.failed, result.skipped)
    (finding,) = result.findings
    assert finding.obj == "events(account_id)"
    assert finding.evidence["estimated_gain_pct"] >= 50
    (query,) = finding.evidence["queries"]
    assert query["calls"] == 60 and "account_id = $1" in query["query"]
    assert finding.recipe.startswith("CREATE INDEX CONCURRENTLY ON public.events (account_id)")
