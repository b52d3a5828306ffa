"""Run audit checks on one read-only connection; collect findings, skips and failures.

The connection is opened with ``default_transaction_read_only = on`` (see
:func:`schemaops.db.connect`), so even a bug in a check cannot write, and
with a ``statement_timeout`` and ``lock_timeout`` so a slow catalog query ends
with a one-line failure for that check instead of hanging the audit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from schemaops import driver
from schemaops.audit import CHECKS, Check, lookup
from schemaops.audit._base import AuditContext, CheckSkipped, Thresholds
from schemaops.db import connect, redact
from schemaops.errors import ConfigError
from schemaops.findings import Finding
from schemaops.spelling import did_you_mean


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # code -> reason
    failed: dict[str, str] = field(default_factory=dict)  # code -> one-line error
    notes: dict[str, list[str]] = field(default_factory=dict)  # code -> what it could not see
    timings: dict[str, float] = field(default_factory=dict)  # code -> seconds
    target: str = ""
    checks: list[Check] = field(default_factory=list)


def select(refs: Iterable[str]) -> list[Check]:
    """The checks named by code or name (all of them when none is given)."""
    refs = list(refs)
    if not refs:
        return list(CHECKS.values())
    chosen = []
    for ref in refs:
        found = lookup(ref)
        if found is None:
            hint = did_you_mean(
                ref, [c.code for c in CHECKS.values()] + [c.name for c in CHECKS.values()]
            )
            raise ConfigError(f"unknown audit check {ref!r}{hint} (see `schemaops audit --list`)")
        chosen.append(found)
    return chosen


def open_readonly(params: dict[str, Any], timeout: str) -> Any:
    """A read-only autocommit connection with statement and lock timeouts, without JIT."""
    conn = connect(params, readonly=True, autocommit=True, application_name="schemaops audit")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('statement_timeout', %s, false)", (timeout,))
            cur.execute("SELECT set_config('lock_timeout', %s, false)", (timeout,))
            # catalog queries with per-row subplans pass jit_above_cost on big catalogs and
            # spend more time compiling than running (2,000 tables: AU101 0.06 s -> 0.9 s)
            cur.execute("SELECT set_config('jit', 'off', false)")
    except driver.Error as exc:
        conn.close()
        raise ConfigError(f"invalid --timeout {timeout!r}: {driver.error_message(exc)}") from None
    return conn


def run_audit(
    params: dict[str, Any],
    checks: list[Check],
    *,
    models: Any = None,
    thresholds: Thresholds | None = None,
    timeout: str = "30s",
    machine: dict[str, Any] | None = None,
) -> AuditResult:
    conn = open_readonly(params, timeout)
    try:
        ctx = AuditContext(
            conn, models=models, thresholds=thresholds, params=params, machine=machine
        )
        result = AuditResult(target=target_of(conn), checks=checks)
        for chk in checks:
            run_one(ctx, chk, result, timeout)
        return result
    finally:
        conn.close()


def run_one(ctx: AuditContext, chk: Check, result: AuditResult, timeout: str) -> None:
    if "models" in chk.needs and ctx.models is None:
        result.skipped[chk.code] = "needs the Django models (--settings)"
        return
    started = time.perf_counter()
    ctx.notes = []
    try:
        result.findings.extend(chk.run(ctx))
        if ctx.notes:
            result.notes[chk.code] = list(ctx.notes)
    except CheckSkipped as exc:
        result.skipped[chk.code] = str(exc)
    except driver.errors.QueryCanceled:
        result.failed[chk.code] = f"a catalog query ran past the {timeout} timeout (--timeout)"
    except driver.errors.LockNotAvailable:
        result.failed[chk.code] = f"waited {timeout} for a lock held by another session"
    except driver.Error as exc:
        first = (str(exc).strip().splitlines() or ["database error"])[0]
        result.failed[chk.code] = redact(first)
    finally:
        result.timings[chk.code] = round(time.perf_counter() - started, 4)


def target_of(conn: Any) -> str:
    """user@host:port/dbname of the open connection (never the password)."""
    info = conn.info  # psycopg2 and psycopg 3 both have ConnectionInfo
    return f"{info.user or ''}@{info.host or ''}:{info.port or ''}/{info.dbname or ''}"
