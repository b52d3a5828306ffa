"""Run SQL through schemaops' StatementRecorder on a real database (imported as trace_support).

Django's ``default`` connection is pointed at the test's own database for the
duration, exactly as ``schemaops trace`` does with its scratch database.
"""

from __future__ import annotations

from typing import Any

import psycopg2

from schemaops.trace.runner import pointed_at
from schemaops.trace.tracer import StatementRecorder, StatementTrace


def run_setup(params: dict[str, str], statements: list[str]) -> None:
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for stmt in statements:
                cur.execute(stmt)
    finally:
        conn.close()


def trace_statements(
    params: dict[str, str], statements: list[str], *, atomic: bool = True
) -> list[StatementTrace]:
    """Execute ``statements`` through Django with the recorder installed; return its traces."""
    from django.db import transaction

    with pointed_at("default", params) as connection:
        recorder = StatementRecorder(connection, params)
        recorder.start()
        with connection.execute_wrapper(recorder):
            if atomic:
                with transaction.atomic(), connection.cursor() as cur:
                    for stmt in statements:
                        cur.execute(stmt)
            else:
                with connection.cursor() as cur:
                    for stmt in statements:
                        cur.execute(stmt)
        return recorder.statements


def modes_on(trace: StatementTrace, relation: str) -> set[str]:
    return {lk.mode for lk in trace.locks if lk.relation == relation}


def strongest(trace: StatementTrace, relation: str) -> str | None:
    lock = trace.strongest_on(relation)
    return lock.mode if lock else None


def one(traces: list[StatementTrace]) -> StatementTrace:
    assert len(traces) == 1, [t.sql for t in traces]
    return traces[0]


def as_dicts(traces: list[StatementTrace]) -> list[dict[str, Any]]:
    return [t.to_dict() for t in traces]


def database_exists(name: str) -> bool:
    from support import PG

    conn = psycopg2.connect(**PG)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            return cur.fetchone() is not None
    finally:
        conn.close()


def scratch_name(stderr: str) -> str:
    """The scratch database named in trace's first progress line."""
    for line in stderr.splitlines():
        if "scratch database " in line:
            return line.split("scratch database ", 1)[1].split()[0]
    raise AssertionError(f"no scratch database line in: {stderr!r}")
