"""Run audit checks on read-only connections; collect findings, skips and failures.

The checks that read the shared index snapshot run on one connection, the
others (set-based, one query each) beside them on a second. Each connection is
opened with ``default_transaction_read_only = on`` (see
:func:`schemaops.db.connect`), so even a bug in a check cannot write, and
with a ``statement_timeout`` and ``lock_timeout`` so a slow catalog query ends
with a one-line failure for that check instead of hanging the audit.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from schemaops import driver
from schemaops._gc import gc_paused
from schemaops.audit import CHECKS, Check, lookup
from schemaops.audit._base import AuditContext, CheckSkipped, Thresholds
from schemaops.audit._catalog import read_ahead
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
    schemas: list[str] = field(default_factory=list)  # the audited schemas, by name


# Called as each check starts (the check, how many are done) and once at the end
# (None, all of them): the command line draws its progress bar from it.
Progress = Callable[[Check | None, int], None]

SCHEMAS = r"""
SELECT oid, nspname FROM pg_namespace
WHERE nspname NOT IN ('pg_catalog', 'information_schema')
  AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp%'
ORDER BY nspname
"""


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
    """A read-only autocommit connection with statement and lock timeouts, without JIT.

    Serial plans only.
    """
    conn = connect(params, readonly=True, autocommit=True, application_name="schemaops audit")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('statement_timeout', %s, false)", (timeout,))
            cur.execute("SELECT set_config('lock_timeout', %s, false)", (timeout,))
            # catalog queries with per-row subplans pass jit_above_cost on big catalogs and
            # spend more time compiling than running (2,000 tables: AU101 0.06 s -> 0.9 s)
            cur.execute("SELECT set_config('jit', 'off', false)")
            # catalog rows are cheap to produce and dear to ship between processes: a
            # parallel plan spends more in its tuple queue than it saves (100,000 indexes:
            # 0.4 s -> 1.2 s)
            cur.execute("SELECT set_config('max_parallel_workers_per_gather', '0', false)")
            if _server_version(conn) >= 150000:
                # each statistics counter is read once: no per-transaction copy of every
                # entry read (100,000 indexes' scans: 150 ms -> 70 ms of server time)
                cur.execute("SELECT set_config('stats_fetch_consistency', 'none', false)")
    except driver.Error as exc:
        conn.close()
        raise ConfigError(f"invalid --timeout {timeout!r}: {driver.error_message(exc)}") from None
    return conn


def _server_version(conn: Any) -> int:
    info = getattr(conn, "info", None)
    version = getattr(conn, "server_version", None) or getattr(info, "server_version", 0)
    return int(version or 0)


def run_audit(
    params: dict[str, Any],
    checks: list[Check],
    *,
    models: Any = None,
    thresholds: Thresholds | None = None,
    timeout: str = "30s",
    machine: dict[str, Any] | None = None,
    schemas: Sequence[str] = (),
    exclude_schemas: Sequence[str] = (),
    progress: Progress | None = None,
) -> AuditResult:
    """Run the checks (on two read-only connections), in the schemas selected by name patterns.

    ``schemas`` and ``exclude_schemas`` are shell-style patterns (``tenant_*``);
    without ``schemas`` every user schema is audited. A ``schemas`` pattern that
    matches nothing is a :class:`ConfigError`.
    """
    conn = open_readonly(params, timeout)
    try:
        ctx = AuditContext(
            conn, models=models, thresholds=thresholds, params=params, machine=machine
        )
        ctx.schemas = select_schemas(conn, schemas, exclude_schemas)
        result = AuditResult(
            target=target_of(conn), checks=checks, schemas=sorted(ctx.schemas.values())
        )
        shared = [c for c in checks if c.module in SNAPSHOT_MODULES]
        side = [c for c in checks if c.module not in SNAPSHOT_MODULES]
        lanes = _Lanes(len(checks), progress)
        # the shared snapshot and the findings stay alive until the end: collection
        # passes would only rescan them (a fleet: 100,000 indexes, 60,000 findings)
        with gc_paused(freeze=True):
            if shared and side:
                side_ctx = AuditContext(
                    open_readonly(params, timeout),
                    models=models,
                    thresholds=thresholds,
                    params=params,
                    machine=machine,
                )
                side_ctx.schemas = ctx.schemas
                ahead = read_ahead({c.code for c in shared})
                ctx.prefetched = {query: Future() for query in ahead}
                try:
                    lanes.run_beside(side_ctx, side, ctx, shared, result, timeout)
                finally:
                    side_ctx.conn.close()
            else:
                lanes.run(ctx, checks, result, timeout)
        result.findings = _in_check_order(checks, result.findings)
        if progress is not None:
            progress(None, len(checks))
        return result
    finally:
        conn.close()


# Checks that read the shared index snapshot (or the Django models) run on the main
# connection; the others, each one set-based query, run beside them on a second
# read-only connection: the server answers them while this process builds findings.
SNAPSHOT_MODULES = frozenset({"indexes", "suggest", "drift"})


class _Lanes:
    """Runs checks on one or two connections, counting what is done for the progress bar."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0
        self.lock = threading.Lock()

    def run(
        self, ctx: AuditContext, checks: list[Check], result: AuditResult, timeout: str
    ) -> None:
        for chk in checks:
            with self.lock:
                if self.progress is not None:
                    self.progress(chk, self.done)
            run_one(ctx, chk, result, timeout)
            with self.lock:
                self.done += 1

    def run_beside(
        self,
        side_ctx: AuditContext,
        side: list[Check],
        ctx: AuditContext,
        shared: list[Check],
        result: AuditResult,
        timeout: str,
    ) -> None:
        side_result = AuditResult()

        def side_lane() -> None:
            read_ahead_for(ctx, side_ctx)
            self.run(side_ctx, side, side_result, timeout)

        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(side_lane)
            self.run(ctx, shared, result, timeout)
            future.result()  # a bug in a side check surfaces here, not silently
        result.findings += side_result.findings
        order = {chk.code: n for n, chk in enumerate(result.checks)}
        for name in ("skipped", "failed", "notes", "timings"):
            merged = {**getattr(result, name), **getattr(side_result, name)}
            setattr(result, name, dict(sorted(merged.items(), key=lambda i: order.get(i[0], 0))))


def read_ahead_for(ctx: AuditContext, side_ctx: AuditContext) -> None:
    """Read the snapshot lane's queued catalog reads on the side connection, first thing.

    A failure (a timeout) is kept for the check that awaits the rows, which then fails
    as if it had run the query itself.
    """
    for query, rows in ctx.prefetched.items():
        try:
            rows.set_result(side_ctx.tuples(query))
        except Exception as exc:  # the awaiting check reports it
            rows.set_exception(exc)


def _in_check_order(checks: list[Check], findings: list[Finding]) -> list[Finding]:
    """Findings grouped by check in the order the checks were given (each keeps its own)."""
    by_code: dict[str, list[Finding]] = {}
    for finding in findings:
        by_code.setdefault(finding.code, []).append(finding)
    return [f for chk in checks for f in by_code.get(chk.code, [])]


def select_schemas(conn: Any, include: Sequence[str], exclude: Sequence[str]) -> dict[int, str]:
    """The user schemas (oid -> name) that match ``include`` (all if empty), minus ``exclude``."""
    with conn.cursor() as cur:
        cur.execute(SCHEMAS)
        found = {oid: name for oid, name in cur.fetchall()}
    for pattern in include:
        if not any(fnmatch.fnmatchcase(name, pattern) for name in found.values()):
            raise ConfigError(f"--schema {pattern!r} matches no schema in this database")

    def chosen(name: str) -> bool:
        wanted = not include or any(fnmatch.fnmatchcase(name, p) for p in include)
        return wanted and not any(fnmatch.fnmatchcase(name, p) for p in exclude)

    return {oid: name for oid, name in found.items() if chosen(name)}


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
