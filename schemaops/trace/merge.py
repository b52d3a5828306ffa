"""``schemaops check --trace``: hold the static findings against what the trace observed.

For every static finding whose ``lock`` names a mode and a table (the
``Lock.on()`` form: ``SHARE on "t" (blocks ...)``), the statements of the
same operation are looked up in the trace:

* the strongest lock they took on that table is the claimed one: the finding
  gets ``evidence["trace"] = "confirmed: ..."``;
* the claimed lock was held while they ran (taken by an earlier statement of
  the same transaction), or is the strongest the atomic migration's transaction
  held on the table (a claim about the migration as a whole):
  ``"consistent: ..."``;
* otherwise the finding is *contradicted*; its message ends with
  ``[trace: observed X on "t", not Y]`` (visible in every format, also in the
  stable JSON contract) and the evidence says the same.

A claim on whole schemas (``ACCESS EXCLUSIVE on every table in s (blocks
...)``, DROP SCHEMA ... CASCADE) is held against every table of those schemas
the operation locked; it is confirmed when each of them took the claimed mode.

Observed facts no rule reported become findings of their own:

``SO801 observed-blocking-lock`` (info)   a lock that blocks writes (or reads) on a
                                          table that existed before the migration
``SO802 observed-rewrite`` (warning)      a table that existed before was rewritten
"""

from __future__ import annotations

from typing import Any

from schemaops.findings import Finding
from schemaops.locks import Lock
from schemaops.rules import registered
from schemaops.source import location_of
from schemaops.tables import label
from schemaops.trace.runner import TraceResult
from schemaops.trace.tracer import MigrationTrace, StatementTrace

# Registered rules (checks/observed_*.py) so `schemaops rules`, `explain` and SARIF know them.
OBSERVED_LOCK = "SO801"
OBSERVED_REWRITE = "SO802"


def merge_trace(result: Any, loader: Any, selected: set[tuple[str, str]], cfg: Any) -> TraceResult:
    """Trace ``selected`` on a scratch database and merge into ``result.findings``; then
    replay the rollout on another one and hold the additive-only findings against it
    (:mod:`schemaops.trace.compat_merge`). The rollout is the one the target is about to
    see: the old release is what it has applied, so its applied migrations are not replayed."""
    from schemaops.db import django_params
    from schemaops.trace.command import applied_on
    from schemaops.trace.compat import CompatOptions, run_compat
    from schemaops.trace.compat_merge import merge_compat
    from schemaops.trace.runner import TraceOptions, run_trace

    trace = run_trace(selected, TraceOptions(alias=cfg.database))
    merge_findings(result.findings, trace, loader)
    rollout = selected - applied_on(django_params(cfg.database))
    compat = run_compat(rollout, CompatOptions(alias=cfg.database))
    merge_compat(result.findings, compat, loader)
    return trace


def merge_findings(findings: list[Finding], trace: TraceResult, loader: Any) -> None:
    """Mark static findings confirmed/contradicted; append SO801/SO802 for unreported facts."""
    for f in findings:
        migration = trace.find(f.app or "", f.migration or "")
        if migration is not None and f.operation is not None and f.lock:
            _judge(f, migration)
    flagged = {(f.app, f.migration, f.operation) for f in findings if not f.suppressed}
    for migration in trace.migrations:
        for f in _observed(migration, loader):
            if (f.app, f.migration, f.operation) not in flagged:
                findings.append(f)


def parse_claim(text: str) -> tuple[Lock, str] | None:
    """(mode, table) from a rule's lock text, e.g. ``SHARE on "t" (blocks ...)``.

    The table is a model's db_table, which may hold quotes itself
    (``'"billing"."invoice"'``): it is read up to the closing ``" (blocks`` and named
    as the trace names relations (``billing.invoice``).
    """
    for lock in sorted(Lock, key=lambda lk: -len(lk.value)):
        prefix = f'{lock.value} on "'
        if text.startswith(prefix):
            rest = text[len(prefix) :]
            end = '" (blocks'
            table = rest.split(end, 1)[0] if end in rest else rest.split('"', 1)[0]
            return lock, label(table)
    return None


def parse_schema_claim(text: str) -> tuple[Lock, list[str]] | None:
    """(mode, schemas) from a claim on whole schemas: ``ACCESS EXCLUSIVE on every table
    in a, b (blocks ...)``."""
    for lock in sorted(Lock, key=lambda lk: -len(lk.value)):
        prefix = f"{lock.value} on every table in "
        if text.startswith(prefix):
            listed = text[len(prefix) :].split(" (", 1)[0]
            return lock, [s.strip() for s in listed.split(",") if s.strip()]
    return None


def _judge(f: Finding, migration: MigrationTrace) -> None:
    claim = parse_claim(f.lock or "")
    if claim is not None:
        claimed, table = claim
        verdict, seen = _verdict(f, migration, claimed, table)
        f.evidence["trace"] = verdict
        if seen is not None:
            f.message += f' [trace: observed {seen} on "{table}", not {claimed.value}]'
        return
    schema_claim = parse_schema_claim(f.lock or "")
    if schema_claim is not None:
        _judge_schemas(f, migration, *schema_claim)


def _verdict(
    f: Finding, migration: MigrationTrace, claimed: Lock, table: str
) -> tuple[str, str | None]:
    """The evidence for one claimed lock on one table; the mode seen when contradicted."""
    mode = claimed.value
    stmts = [s for s in migration.statements if s.operation == f.operation]
    observed = _strongest(stmts, table)
    if observed is claimed:
        return f"confirmed: {mode} on {table}", None
    if _strongest(stmts, table, held=True) is claimed:
        return f"consistent: {mode} on {table} held while it ran", None
    everything = migration.statements
    if migration.atomic and _strongest(everything, table, held=True) is claimed:
        return f"consistent: {mode} on {table} held by the migration's transaction", None
    effective = [m for m in (observed, _strongest(stmts, table, held=True)) if m is not None]
    strongest = max(effective, key=lambda m: m.strength) if effective else None
    seen = strongest.value if strongest else "no lock"
    return f"contradicted: observed {seen} on {table}, not {mode}", seen


def _judge_schemas(
    f: Finding, migration: MigrationTrace, claimed: Lock, schemas: list[str]
) -> None:
    stmts = [s for s in migration.statements if s.operation == f.operation]
    tables = sorted(
        {
            lk.relation
            for s in stmts
            for lk in s.locks
            if lk.kind == "table" and _schema_of(lk.relation) in schemas
        }
    )
    listed = ", ".join(schemas)
    if not tables:
        f.evidence["trace"] = f"not traced: no table of {listed} was locked"
        return
    verdicts = {t: _verdict(f, migration, claimed, t) for t in tables}
    wrong = {t: seen for t, (_v, seen) in verdicts.items() if seen is not None}
    if wrong:
        first, seen = next(iter(wrong.items()))
        f.evidence["trace"] = f"contradicted: observed {seen} on {first}, not {claimed.value}"
        f.message += f' [trace: observed {seen} on "{first}", not {claimed.value}]'
        return
    f.evidence["trace"] = (
        f"confirmed: {claimed.value} on every table in {listed} ({', '.join(tables)})"
    )


def _schema_of(label: str) -> str:
    """The schema of a traced relation (labelled ``name`` in public, else ``schema.name``)."""
    return label.split(".", 1)[0] if "." in label else "public"


def _strongest(stmts: list[StatementTrace], table: str, *, held: bool = False) -> Lock | None:
    modes = [m for s in stmts if (m := s.strongest_on(table, held=held)) is not None]
    return max(modes, key=lambda m: m.strength) if modes else None


def _observed(migration: MigrationTrace, loader: Any) -> list[Finding]:
    """One SO802 per rewritten table, else one SO801 per blocked table, per operation."""
    out: dict[tuple[int, str], Finding] = {}
    for stmt in migration.statements:
        if stmt.operation is None:
            continue
        for table in stmt.rewrites:
            if _preexisting(stmt, table):
                out[(stmt.operation, table)] = _finding(
                    OBSERVED_REWRITE, migration, stmt, table, loader, rewrite=True
                )
        for lk in stmt.locks:
            lock = lk.lock
            if not (lk.kind == "table" and lk.preexisting and lock and lock.blocks_writes):
                continue
            key = (stmt.operation, lk.relation)
            if key not in out or _weaker(out[key], lock):
                out[key] = _finding(OBSERVED_LOCK, migration, stmt, lk.relation, loader, lock=lock)
    return list(out.values())


def _preexisting(stmt: StatementTrace, table: str) -> bool:
    """A table (not an index) that existed before the migration."""
    return any(lk.relation == table and lk.preexisting and lk.kind == "table" for lk in stmt.locks)


def _weaker(f: Finding, lock: Lock) -> bool:
    if f.code != OBSERVED_LOCK:
        return False  # a rewrite finding wins
    claim = parse_claim(f.lock or "")
    return claim is not None and claim[0].strength < lock.strength


def _finding(
    code: str,
    migration: MigrationTrace,
    stmt: StatementTrace,
    table: str,
    loader: Any,
    *,
    lock: Lock | None = None,
    rewrite: bool = False,
) -> Finding:
    node = loader.graph.nodes.get(migration.key)
    op = node.operations[stmt.operation] if node is not None else None
    what = op.describe() if op is not None else f"operation {stmt.operation}"
    lock = lock or stmt.strongest_on(table) or Lock.ACCESS_EXCLUSIVE
    did = f'rewrote "{table}"' if rewrite else f'took {lock.value} on "{table}"'
    rule = registered()[code]
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        message=(
            f"{what}: schemaops trace saw it {did} (blocks {lock.blocks}) "
            f"for {stmt.duration_ms:.1f} ms on the scratch database; no rule reported it"
        ),
        app=migration.app,
        migration=migration.name,
        operation=stmt.operation,
        lock=lock.on(table, "(observed)"),
        location=location_of(node, stmt.operation),
        evidence={"statement": stmt.sql, "duration_ms": round(stmt.duration_ms, 3)},
    )
