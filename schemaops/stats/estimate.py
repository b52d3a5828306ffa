"""Put table sizes and estimated durations on the lock and rewrite findings.

One pass over the findings after linting (``check --stats``), or over the
findings ``migrate --plan`` shows. A finding takes part when its rule said
which blocking step it is about (``Finding.blocking``) and the snapshot knows
the table; every other finding is left as the static rules made it.

Severity follows the estimate: an error whose step fits within the lock budget
becomes a warning that says so; above the budget it stays an error and states
the estimate. Rules of the ``additive`` and ``breaking`` categories (drops,
renames and adds that break the old or the new code during a deploy) are never
downgraded, whatever the size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemaops.config import Config
from schemaops.errors import ConfigError
from schemaops.findings import BlockingStep, Finding, Severity
from schemaops.stats.model import CostModel, Step, TableSize


@dataclass(frozen=True)
class Estimate:
    """The estimated duration of one finding's blocking step on one table of the snapshot."""

    step: Step
    table: str
    rows: int
    heap_bytes: int
    ms: float
    budget_ms: float

    @property
    def within_budget(self) -> bool:
        return self.ms <= self.budget_ms

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step.value,
            "table": self.table,
            "rows": self.rows,
            "heap_bytes": self.heap_bytes,
            "ms": round(self.ms, 1),
            "budget_ms": self.budget_ms,
        }

    def sentence(self) -> str:
        size = f"~{self.rows:,} rows, {human_bytes(self.heap_bytes)}"
        verdict = "within" if self.within_budget else "over"
        return (
            f"{self.table} has {size}: the {self.step.label} is estimated at "
            f"{human_ms(self.ms)}, {verdict} the {human_ms(self.budget_ms)} lock budget"
        )


def table_size(snapshot: dict[str, Any], name: str) -> TableSize | None:
    """The size of table ``name`` (``schema.name`` or bare, public first) in the snapshot."""
    entry = _find_table(snapshot, name)
    if entry is None:
        return None
    return TableSize(
        rows=int(entry.get("rows") or 0),
        heap_bytes=int(entry.get("heap_bytes") or 0),
        indexes=len(entry.get("indexes") or ()),
    )


def _find_table(snapshot: dict[str, Any], name: str) -> dict[str, Any] | None:
    schema, _, bare = name.rpartition(".")
    candidates = [t for t in snapshot.get("tables", ()) if t.get("name") == bare]
    if schema:
        candidates = [t for t in candidates if t.get("schema") == schema]
    candidates.sort(key=lambda t: t.get("schema") != "public")
    return candidates[0] if candidates else None


def estimate(
    blocking: BlockingStep, snapshot: dict[str, Any], model: CostModel, budget_ms: float
) -> Estimate | None:
    """The estimate of one blocking step, or None when the snapshot lacks the table."""
    size = table_size(snapshot, blocking.table)
    if size is None:
        return None
    referenced = table_size(snapshot, blocking.referenced) if blocking.referenced else None
    step = Step(blocking.step)
    ms = model.estimate_ms(step, size, referenced)
    return Estimate(step, blocking.table, size.rows, size.heap_bytes, ms, budget_ms)


def apply_estimates(
    findings: Iterable[Finding],
    snapshot: dict[str, Any],
    *,
    model: CostModel | None = None,
    budget_ms: float | None = None,
) -> list[tuple[Finding, Estimate]]:
    """Annotate (and maybe downgrade) each finding with a blocking step; return those.

    ``budget_ms`` defaults to the configuration's default ``lock-budget``.
    """
    model = with_server_memory(model or CostModel(), snapshot)
    if budget_ms is None:
        budget_ms = parse_budget_ms(Config().lock_budget)
    done = []
    for finding in findings:
        if finding.blocking is None:
            continue
        found = estimate(finding.blocking, snapshot, model, budget_ms)
        if found is None:
            continue
        finding.evidence["estimated_ms"] = round(found.ms, 1)
        finding.message = f"{finding.message} ({found.sentence()})"
        if found.within_budget and finding.severity is Severity.ERROR and _may_downgrade(finding):
            finding.severity = Severity.WARNING
        done.append((finding, found))
    return done


def with_server_memory(model: CostModel, snapshot: dict[str, Any]) -> CostModel:
    """The model with the snapshot's maintenance_work_mem (kept when the snapshot lacks it)."""
    from dataclasses import replace

    setting = snapshot.get("settings", {}).get("maintenance_work_mem") or {}
    units = {"kB": 1024, "MB": 2**20, "8kB": 8192, None: 1}
    try:
        size = int(setting["setting"]) * units[setting.get("unit")]
    except (KeyError, ValueError, TypeError):
        return model
    return replace(model, maintenance_work_mem=size)


def _may_downgrade(finding: Finding) -> bool:
    """False for rules whose finding breaks old code whatever the table's size."""
    from schemaops.rules import lookup

    rule = lookup(finding.code)
    return rule is not None and rule.category not in ("additive", "breaking")


def human_ms(ms: float) -> str:
    if ms < 1000:
        return f"~{ms:.0f} ms"
    if ms < 120_000:
        return f"~{ms / 1000:.1f} s"
    if ms < 7_200_000:
        return f"~{ms / 60_000:.0f} min"
    return f"~{ms / 3_600_000:.1f} h"


def human_bytes(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


def estimate_findings(
    findings: Iterable[Finding], config: Config, stats: str | None = None
) -> list[tuple[Finding, Estimate]]:
    """``check --stats`` and friends: apply the snapshot ``stats`` (or ``config.stats``).

    Reads the lock budget and the cost overrides from the config; does nothing
    when neither names a snapshot. Returns the findings that got an estimate.
    """
    from schemaops.stats.snapshot import load_snapshot

    path = stats or config.stats
    if not path:
        return []
    model = CostModel().with_overrides(config.stats_cost)
    budget = parse_budget_ms(config.lock_budget)
    return apply_estimates(findings, load_snapshot(path), model=model, budget_ms=budget)


_UNITS_MS = {"ms": 1.0, "s": 1000.0, "min": 60_000.0}


def parse_budget_ms(text: str) -> float:
    """``250ms``, ``1s``, ``0.5min`` or a bare number of milliseconds."""
    value = str(text).strip()
    number, unit = value, "ms"
    for suffix in sorted(_UNITS_MS, key=len, reverse=True):
        if value.endswith(suffix):
            number, unit = value[: -len(suffix)].strip(), suffix
            break
    try:
        ms = float(number) * _UNITS_MS[unit]
    except ValueError:
        ms = -1.0
    if ms < 0:
        raise ConfigError(f"bad lock budget {text!r}: use e.g. 250ms, 1s or 0.5min")
    return ms


def estimate_migrations(
    loader: Any, selected: set[tuple[str, str]], config: Config
) -> list[dict[str, Any]]:
    """``trace --stats``: lint ``selected`` as ``check`` does and list the estimates.

    One dict per finding with an estimate: where it is (app, migration,
    operation, code) and :meth:`Estimate.to_dict`.
    """
    from schemaops.linter import Linter

    result = Linter(loader, config, pg_version=config.pg_version or 15).run(selected)
    return [
        {
            "app": finding.app,
            "migration": finding.migration,
            "operation": finding.operation,
            "code": finding.code,
            "severity": finding.severity.label,
            **found.to_dict(),
        }
        for finding, found in estimate_findings(result.findings, config)
    ]
