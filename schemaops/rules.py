"""The contract every migration rule follows, and the contexts rules read.

A rule is a class in its own module under ``checks/`` (installed as
``schemaops.checks``), registered in ``checks/__init__.py``; the core finds
the rules through :func:`registered` and :func:`lookup` only. It declares:

``code``        stable id, ``SO`` + three digits; never reused once released
``name``        kebab-case, names the flagged pattern (``add-index-non-concurrently``)
``severity``    the default; ``[tool.schemaops] severity`` may override it
``category``    ``additive`` rules stay silent in post-deploy migrations (the
                new code is deployed: only the old code needed protecting);
                ``breaking`` rules run in both phases and judge each one
                themselves (``MigrationContext.phase``): see docs/expand-contract.md
``summary``     one line, under 80 characters

and implements any of four hooks, each returning an iterable of findings:

``check_operation(ctx)``  once per Django operation (``OperationContext``)
``check_statement(ctx)``  once per SQL statement of a ``RunSQL`` (or of an
                          operation schemaops cannot read otherwise), parsed by
                          PostgreSQL's own parser (``StatementContext``)
``check_migration(ctx)``  once per migration, after its operations (``MigrationContext``)
``check_final(ctx)``      once per run, after the whole graph was walked
                          (``FinalContext``): for facts only the final project
                          state settles, such as "is this foreign key indexed by
                          any later migration?". Findings point at an operation
                          of a selected migration (make them from its
                          ``OperationContext``) and are filtered like the others.

The rule's docstring is its documentation, in these sections (a test fails
when one is missing): ``What it does``, ``Why is this bad?``, ``Example``,
``Use instead``, ``References``. ``docs/rules.md`` is generated from them.

Rules never print and never touch a database: they read the contexts and
return :class:`~schemaops.findings.Finding` objects made with
:meth:`Rule.finding`, whose message names the user's own model, field and
table, and whose recipe is Django code ready to paste.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from schemaops.dbfacts import DatabaseFacts
from schemaops.findings import BlockingStep, Finding, Severity
from schemaops.plan import MigrationStep, ModelSnapshot, OperationStep, column_for, db_table_for

DOC_SECTIONS = ("What it does", "Why is this bad?", "Example", "Use instead", "References")
CATEGORIES = (
    "additive",
    "breaking",
    "locking",
    "rollback",
    "timeouts",
    "indexes",
    "hygiene",
    "meta",
)


@dataclass
class Target:
    """What the run knows about the database the migrations are going to."""

    pg_version: int = 15  # major version
    # [tool.schemaops] assume-timeouts: migrations are applied by `schemaops migrate`,
    # which sets lock_timeout and statement_timeout itself
    assume_timeouts: bool = False
    lock_timeout: str = "5s"  # values the timeout recipes suggest
    statement_timeout: str = "0"
    # what the project's connection sets on its session (OPTIONS "options": "-c ...")
    session: dict[str, str] = field(default_factory=dict)


@dataclass
class MigrationContext:
    step: MigrationStep
    target: Target
    phase: str  # "pre" or "post"
    state: Any  # ProjectState right after this migration
    operations: list[OperationContext] = field(default_factory=list)
    statements: list[StatementContext] = field(default_factory=list)
    # tables created earlier in this migration (CreateModel or CREATE TABLE)
    new_tables: set[str] = field(default_factory=set)
    # what database-only operations of the graph did, up to this migration included
    facts: DatabaseFacts = field(default_factory=DatabaseFacts)

    @property
    def app_label(self) -> str:
        return self.step.app_label

    @property
    def name(self) -> str:
        return self.step.name

    @property
    def atomic(self) -> bool:
        return self.step.atomic

    @property
    def dependencies(self) -> list[tuple[str, str]]:
        """What a migration written instead of this one depends on: the same as this one."""
        return [tuple(d) for d in getattr(self.step.migration, "dependencies", [])]


@dataclass
class OperationContext:
    """One Django operation, with its model before and after it ran."""

    step: OperationStep
    migration: MigrationContext

    @property
    def operation(self) -> Any:
        return self.step.operation

    @property
    def app_label(self) -> str:
        return self.step.app_label

    @property
    def before(self) -> ModelSnapshot | None:
        return self.step.before

    @property
    def after(self) -> ModelSnapshot | None:
        return self.step.after

    @property
    def new_table(self) -> bool:
        """True when the model's table was created earlier in this same migration."""
        return self.step.new_model

    @property
    def in_transaction(self) -> bool:
        """Does Django run this operation inside a transaction on PostgreSQL?

        An atomic migration (the default) runs every operation in its one
        transaction: ``Operation.atomic`` is False on the base class and never
        opts out. In a non-atomic migration only an operation with its own
        ``atomic=True`` (RunPython) gets a transaction.
        """
        return self.migration.atomic or bool(getattr(self.operation, "atomic", False))

    @property
    def model(self) -> ModelSnapshot | None:
        return self.after or self.before

    @property
    def model_name(self) -> str:
        model = self.model
        return model.name if model else "?"

    @property
    def table(self) -> str:
        model = self.before or self.after
        return model.db_table if model else "?"

    def field_before(self, name: str) -> Any:
        return self.before.fields.get(name) if self.before else None

    def column(self, name: str, field_obj: Any) -> str:
        return column_for(name, field_obj)

    def related_table(self, field_obj: Any) -> str:
        """The table a relation field points at, from the project state."""
        from django.db.migrations.utils import resolve_relation

        key = resolve_relation(
            field_obj.remote_field.model, self.app_label, self.model_name.lower()
        )
        state = self.migration.state.models.get(key)
        if state is None:
            return f"{key[0]}_{key[1]}"
        return db_table_for(state.app_label, state.name, state.options)


@dataclass
class StatementContext:
    """One SQL statement (a pglast node) inside a RunSQL or a generated operation."""

    node: Any  # a pglast.ast.Node, e.g. AlterTableStmt
    sql: str
    operation: OperationContext
    generated: bool = False  # SQL that schemaops generated, not the user's RunSQL

    @property
    def migration(self) -> MigrationContext:
        return self.operation.migration

    @property
    def kind(self) -> str:
        return type(self.node).__name__

    def is_new_table(self, table: str | None) -> bool:
        return table is not None and table in self.migration.new_tables

    @property
    def in_transaction(self) -> bool:
        return self.operation.in_transaction


@dataclass
class FinalContext:
    """The end of the walk: the final project state and what the run looked at.

    ``state`` is the ProjectState after the last migration of the whole graph
    (selected or not), so an index added by a later migration is in it.
    ``operations`` are the OperationContexts of the selected migrations, in
    plan order (children of SeparateDatabaseAndState included), each still
    holding its model before and after. ``graph`` is Django's MigrationGraph.
    """

    state: Any
    operations: list[OperationContext]
    target: Target
    graph: Any

    def leaf(self, app_label: str) -> str | None:
        """The name of the app's latest migration, the one a new migration follows."""
        leaves = [name for app, name in self.graph.leaf_nodes() if app == app_label]
        return leaves[-1] if leaves else None


class Rule:
    """Base class of every rule; see the module docstring for the contract."""

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = Severity.ERROR
    category: ClassVar[str] = "locking"
    # Django operation classes passed to check_operation (empty: none)
    operations: ClassVar[tuple[type, ...]] = ()
    # pglast node class names passed to check_statement (empty: none)
    statements: ClassVar[tuple[str, ...]] = ()
    # retired rules stay registered so their codes are never reused
    retired: ClassVar[bool] = False
    # Does the hazard exist on a new, empty database? Django runs a squashed migration
    # (one with ``replaces``) only where none of the migrations it replaces ran, so no
    # row, no running release and no lock wait is at stake there: only rules that hold
    # anyway (PostgreSQL refuses the SQL, hygiene of what is created) report on it.
    # None: hygiene and meta rules hold, the others do not.
    on_empty_database: ClassVar[bool | None] = None

    def check_operation(self, ctx: OperationContext) -> Iterable[Finding]:
        return ()

    def check_statement(self, ctx: StatementContext) -> Iterable[Finding]:
        return ()

    def check_migration(self, ctx: MigrationContext) -> Iterable[Finding]:
        return ()

    def check_final(self, ctx: FinalContext) -> Iterable[Finding]:
        return ()

    def finding(
        self,
        ctx: OperationContext | StatementContext | MigrationContext,
        message: str,
        *,
        lock: str | None = None,
        recipe: str | Callable[[], str | None] | None = None,
        severity: Severity | None = None,
        blocking: BlockingStep | None = None,
    ) -> Finding:
        """A finding of this rule on ``ctx``'s operation (or migration).

        ``recipe`` may be a function that writes it, for a recipe that costs more than
        the verdict: ``check`` calls it only where the planner's remedy does not replace
        the recipe. It runs later, so it must read nothing the walk goes on to change
        (the project state: take what it needs from it first).
        """
        if isinstance(ctx, StatementContext):
            ctx = ctx.operation
        if isinstance(ctx, OperationContext):
            mig, index = ctx.migration, _top_index(ctx.step)
        else:
            mig, index = ctx, None
        return Finding(
            code=self.code,
            name=self.name,
            severity=severity or self.severity,
            message=message,
            app=mig.app_label,
            migration=mig.name,
            operation=index,
            lock=lock,
            recipe=recipe,
            blocking=blocking,
        )

    @classmethod
    def doc_sections(cls) -> dict[str, str]:
        """The docs: the class docstring, or (the convention) its module's docstring."""
        import sys

        module = sys.modules.get(cls.__module__)
        return parse_doc(cls.__doc__ or getattr(module, "__doc__", None) or "")

    @classmethod
    def holds_on_empty_database(cls) -> bool:
        if cls.on_empty_database is not None:
            return cls.on_empty_database
        return cls.category in ("hygiene", "meta")

    @classmethod
    def hooks(cls) -> set[str]:
        return {
            h
            for h in ("check_operation", "check_statement", "check_migration", "check_final")
            if getattr(cls, h) is not getattr(Rule, h)
        }


def _top_index(step: OperationStep) -> int:
    while step.parent is not None:
        step = step.parent
    return step.index


_SECTION = re.compile(r"^## (.+?)\s*$", re.MULTILINE)


def parse_doc(doc: str) -> dict[str, str]:
    """Split a rule docstring into its ``## Section`` parts."""
    import inspect

    text = inspect.cleandoc(doc)
    parts = _SECTION.split(text)
    sections = {"": parts[0].strip()}
    for title, body in zip(parts[1::2], parts[2::2], strict=False):
        sections[title] = body.strip()
    return sections


def iter_findings(results: Iterable[Finding] | None) -> Iterator[Finding]:
    yield from results or ()


def registered() -> dict[str, type[Rule]]:
    """Every rule by code: the registry of ``schemaops.checks``.

    The core reaches the rules only through this registry, imported by name at
    first use, so the rules can build on the core without a cycle.
    """
    return importlib.import_module("schemaops.checks").RULES


def lookup(ref: str) -> type[Rule] | None:
    """A rule by code (``SO201``) or name (``add-index-non-concurrently``)."""
    return importlib.import_module("schemaops.checks").lookup(ref)


def rule_suggestion(ref: str) -> str:
    """`` (did you mean SO201?)`` for a rule code or name that does not exist, else ``""``."""
    from schemaops.spelling import did_you_mean

    digits = ref.strip()[:2] + ref.strip()[2:].replace("O", "0").replace("o", "0")
    if digits != ref.strip() and lookup(digits) is not None:  # SO2O1: a letter O for a zero
        return f" (did you mean {lookup(digits).code}?)"  # type: ignore[union-attr]
    rules = registered().values()
    return did_you_mean(ref, [r.code for r in rules] + [r.name for r in rules])
