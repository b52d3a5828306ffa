"""Finding, Severity and Location: the one data type every command reports in.

``schemaops check`` emits one Finding per problem in a migration operation,
``schemaops audit`` one per problem in a live database, ``schemaops trace`` one
per observed lock or rewrite worth a look. Renderers in
:mod:`schemaops.reporting` turn a list of them into text, JSON, GitHub
annotations, SARIF or markdown.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(enum.IntEnum):
    """Ordered so that ``max()`` gives the worst one."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {value!r} (error, warning, info)") from None


@dataclass(frozen=True)
class Location:
    """Where a finding points: a file and a 1-based line, either may be unknown."""

    path: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class BlockingStep:
    """The slow step a lock or rewrite finding is about, so its duration can be estimated.

    ``step`` is one of :class:`schemaops.stats.model.Step` (``index-build``,
    ``rewrite``, ``fk-validation``, ``check-validation``, ``not-null-scan``);
    ``table`` the table it blocks, ``referenced`` the table a foreign key
    points at (its validation reads both).
    """

    step: str
    table: str
    referenced: str | None = None


class _Recipe:
    """``Finding.recipe``: its text, or a function that writes it, called when the recipe
    is first read (:meth:`schemaops.rules.Rule.finding`).

    Some rules' recipes cost more than their verdict (the code of two whole migrations),
    and ``check`` replaces the recipe of every operation it plans a remedy for with that
    remedy's, unread. A function that raises when the linter did not call it under its
    rule's guard (see :func:`write_recipe`) leaves no recipe.
    """

    def __get__(self, finding: Any, owner: Any = None) -> str | None:
        if finding is None:
            return None  # the field's default
        recipe = finding.__dict__["recipe"]
        if callable(recipe):
            try:
                recipe = recipe()
            except Exception:
                recipe = None
            finding.__dict__["recipe"] = recipe
        return recipe  # type: ignore[no-any-return]

    def __set__(self, finding: Any, recipe: str | Callable[[], str | None] | None) -> None:
        finding.__dict__["recipe"] = recipe


def recipe_written(finding: Finding) -> bool:
    """Is ``finding``'s recipe its text (or none) already, not a function to call?"""
    return not callable(finding.__dict__["recipe"])


def write_recipe(finding: Finding) -> None:
    """Call the function ``finding``'s recipe was given as, now; what it raises propagates."""
    recipe = finding.__dict__["recipe"]
    if callable(recipe):
        finding.__dict__["recipe"] = recipe()


@dataclass
class Finding:
    """One problem, with the lock it takes and the recipe that avoids it.

    ``code`` and ``name`` identify the rule or check (``SO101``,
    ``drop-column``). ``app``/``migration``/``operation`` locate a migration
    finding (``operation`` is the 0-based index in ``Migration.operations``,
    or None for a finding about the whole migration). ``obj`` names the
    database object an audit finding is about. ``evidence`` carries the
    numbers behind an audit or trace finding.
    """

    code: str
    name: str
    severity: Severity
    message: str
    app: str | None = None
    migration: str | None = None
    operation: int | None = None
    lock: str | None = None
    recipe: _Recipe = _Recipe()  # text (see _Recipe: a rule may give a function)
    location: Location = field(default_factory=Location)
    obj: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    suppressed: str | None = None  # the reason, when an inline suppression matched
    schema: str | None = None  # the schema of an audit finding's object (output groups by it)
    blocking: BlockingStep | None = None  # what `check --stats` estimates
    # the operation it is about (``app.migration#index``): one verdict per operation
    group: str | None = None
    remedy: str | None = None  # the key of the shared remedy (the group's), when planned

    @property
    def path(self) -> str | None:
        return self.location.path

    @property
    def line(self) -> int | None:
        return self.location.line

    @property
    def fingerprint(self) -> str:
        """A stable identity for baselines: no line numbers, no message text."""
        key = "|".join(
            str(part) for part in (self.code, self.app, self.migration, self.operation, self.obj)
        )
        return hashlib.sha1(key.encode()).hexdigest()[:16]

    def to_contract(self) -> dict[str, Any]:
        """The stable ``--format json`` shape of ``schemaops check`` (version 1).

        ``group`` and ``remedy`` were added to version 1 (keys are only ever added).
        """
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity.label,
            "app": self.app,
            "migration": self.migration,
            "operation": self.operation,
            "message": self.message,
            "lock": self.lock,
            "recipe": self.recipe,
            "path": self.path,
            "line": self.line,
            "group": self.group,
            "remedy": self.remedy,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, for commands whose JSON carries evidence (audit, trace)."""
        data = self.to_contract()
        if self.obj is not None:
            data["object"] = self.obj
        if self.schema is not None:
            data["schema"] = self.schema
        if self.evidence:
            data["evidence"] = self.evidence
        return data


def summarize(findings: list[Finding]) -> dict[str, int]:
    """Counts per severity of the findings that were not suppressed."""
    active = [f for f in findings if not f.suppressed]
    return {
        "errors": sum(f.severity is Severity.ERROR for f in active),
        "warnings": sum(f.severity is Severity.WARNING for f in active),
        "infos": sum(f.severity is Severity.INFO for f in active),
    }


__all__ = [
    "BlockingStep",
    "Finding",
    "Location",
    "Severity",
    "asdict",
    "recipe_written",
    "summarize",
    "write_recipe",
]
