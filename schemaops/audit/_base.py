"""The contract of an audit check, the registry, and the context checks read.

A check is a function decorated with :func:`check`, in one of the modules
``indexes``, ``bloat``, ``suggest``, ``schema``, ``drift`` and ``settings``.
It declares:

``code``        stable id, ``AU`` + three digits; never reused once released
``name``        kebab-case, names the problem it finds (``fk-without-index``)
``severity``    the default severity of its findings (a hit may raise or lower it)
``needs``       what it cannot run without: ``"models"`` (a Django project),
                ``"pg_stat_statements"``

The function takes an :class:`AuditContext` and yields :class:`Hit` objects.
It runs **set-based** catalog queries (one query for the whole database, never
one per table), through :meth:`AuditContext.rows`, on a read-only connection
under a ``statement_timeout``. It never writes and never prints.

Its docstring is its documentation, in these sections (a test fails when one
is missing): ``What it does``, ``Why is this bad?``, ``Fix``. The first line is
the summary ``schemaops audit --list`` shows.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from schemaops.findings import Finding, Severity

DOC_SECTIONS = ("What it does", "Why is this bad?", "Fix")


@dataclass(frozen=True)
class Thresholds:
    """Numbers that decide when a measurement becomes a finding.

    The defaults are the thresholds PgHero and active_record_doctor use (docs/audit.md).
    """

    seq_scan_min_rows: int = 10_000  # PgHero missing_indexes
    seq_scan_min_scans: int = 10
    seq_scan_max_index_pct: float = 95.0
    unused_index_min_bytes: int = 1 << 20  # ruby-pg-extras diagnose: 1 MB
    stats_min_days: float = 7.0  # younger statistics make "unused" a guess
    bloat_min_bytes: int = 1 << 20
    bloat_min_pct: float = 50.0
    sequence_warn_pct: float = 50.0
    sequence_error_pct: float = 90.0  # PgHero
    slow_query_min_ms: float = 20.0  # PgHero slow_query_ms
    slow_query_min_calls: int = 50
    slow_query_limit: int = 20
    suggest_min_gain_pct: float = 50.0  # Dexter's savings ratio
    dead_tuples_min: int = 1_000
    xid_warn_pct: float = 50.0  # postgres-checkup F002
    xid_error_pct: float = 75.0


@dataclass
class Hit:
    """One finding of a check, before the registry stamps its code and name on it."""

    message: str
    obj: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    severity: Severity | None = None
    schema: str | None = None  # the schema of the object (findings are grouped by it)


class CheckSkipped(Exception):
    """A check cannot run here (no Django models, no pg_stat_statements...); the reason."""


class AuditContext:
    """What a check may read: the connection, thresholds, and the Django models if known."""

    def __init__(
        self,
        conn: Any,
        *,
        models: Any = None,
        thresholds: Thresholds | None = None,
        params: dict[str, Any] | None = None,
        machine: dict[str, Any] | None = None,
    ) -> None:
        self.conn = conn
        self.models = models  # schemaops.audit._django.Models or None
        self.thresholds = thresholds or Thresholds()
        self.params = params or {}  # libpq parameters of the target (never printed)
        self.machine = machine or {}  # MachineProfile fields given by the user (AU401)
        self._cache: dict[str, Any] = {}
        self.notes: list[str] = []  # what a check could not see (e.g. no privilege); stderr
        self.schemas: dict[int, str] = {}  # oid -> name of the audited schemas (the runner's)
        # query text -> its rows, read ahead on the runner's other connection
        self.prefetched: dict[str, Future[list[tuple[Any, ...]]]] = {}
        info = getattr(conn, "info", None)
        version = getattr(conn, "server_version", None) or getattr(info, "server_version", 0)
        self.server_version = int(version or 0)

    def in_scope(self, schema: str | None) -> bool:
        """Whether an object in this schema is audited (``--schema``/``--exclude-schema``)."""
        return schema is None or schema in self.schema_names

    @property
    def schema_names(self) -> set[str]:
        names: set[str] = self.cached("schema_names", lambda: set(self.schemas.values()))
        return names

    def note(self, message: str) -> None:
        """Say what limited a check that still ran (one line, printed as a note)."""
        if message not in self.notes:
            self.notes.append(message)

    def rows(self, query: Any, params: Any = None) -> list[dict[str, Any]]:
        """Run one read-only query and return its rows as dicts.

        A query that names ``%(schemas)s`` gets the oids of the audited schemas,
        ``%(schema_names)s`` their names.
        """
        with self.conn.cursor() as cur:
            cur.execute(query, self._params(query, params))
            if not cur.description:
                return []
            names = [column.name for column in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def tuples(self, query: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one read-only query and return its rows as tuples (for the big snapshots).

        A query the runner read ahead (same text, no parameters but the schemas) is
        not run again: its rows are awaited.
        """
        ahead = self.prefetched.get(query) if params is None else None
        if ahead is not None:
            return ahead.result()
        with self.conn.cursor() as cur:
            cur.execute(query, self._params(query, params))
            return list(cur.fetchall()) if cur.description else []

    def _params(self, query: Any, params: Any) -> Any:
        if not isinstance(query, str) or isinstance(params, tuple):
            return params
        if "%(schemas)s" in query:
            params = {**(params or {}), "schemas": list(self.schemas)}
        if "%(schema_names)s" in query:  # for views that give the name (pg_stat_user_tables)
            params = {**(params or {}), "schema_names": sorted(self.schema_names)}
        return params

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Share one catalog snapshot (e.g. every index) between checks of one run."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def has_extension(self, name: str) -> bool:
        installed = self.cached(
            "extensions", lambda: {r["extname"] for r in self.rows(_EXTENSIONS)}
        )
        return name in installed


_EXTENSIONS = "SELECT extname FROM pg_extension"


@dataclass(frozen=True)
class Check:
    code: str
    name: str
    severity: Severity
    func: Callable[[AuditContext], Iterable[Hit]]
    needs: frozenset[str] = frozenset()

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0].rstrip(".") if self.doc else self.name

    @property
    def module(self) -> str:
        return self.func.__module__.rsplit(".", 1)[-1]

    def doc_sections(self) -> dict[str, str]:
        from schemaops.rules import parse_doc

        return parse_doc(self.doc)

    def run(self, ctx: AuditContext) -> list[Finding]:
        return [self.to_finding(hit) for hit in self.func(ctx)]

    def to_finding(self, hit: Hit) -> Finding:
        return Finding(
            code=self.code,
            name=self.name,
            severity=hit.severity or self.severity,
            message=hit.message,
            recipe=hit.fix,
            obj=hit.obj,
            evidence=hit.evidence,
            schema=hit.schema,
        )


REGISTRY: dict[str, Check] = {}


def check(
    code: str, name: str, severity: Severity, *, needs: Iterable[str] = ()
) -> Callable[[Callable[[AuditContext], Iterable[Hit]]], Callable[[AuditContext], Iterable[Hit]]]:
    """Register a check function under a stable code."""

    def register(
        func: Callable[[AuditContext], Iterable[Hit]],
    ) -> Callable[[AuditContext], Iterable[Hit]]:
        if code in REGISTRY or any(c.name == name for c in REGISTRY.values()):
            raise RuntimeError(f"audit check {code} {name} registered twice")
        REGISTRY[code] = Check(code, name, severity, func, frozenset(needs))
        return func

    return register


def qualified(schema: str, name: str) -> str:
    """``table`` in public, ``schema.table`` elsewhere: how findings name objects."""
    return name if schema == "public" else f"{schema}.{name}"


def mb(value: float | int | None) -> str:
    """Bytes as a short human figure for messages (evidence keeps the raw number)."""
    size = float(value or 0)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
