"""``schemaops check`` as a library: walk once, run the rules, filter the findings.

The pipeline, in order:

1. walk the migration graph forward once (:mod:`schemaops.plan`);
2. for each selected migration, give every rule its operations, the SQL
   statements of its ``RunSQL`` (parsed by pglast), and the migration itself;
3. once the whole graph is walked, give rules with ``check_final`` the final
   project state (facts like "is this foreign key indexed by a later migration?");
4. drop what does not apply: additive rules in post-deploy migrations, rules
   the configuration turns off, findings suppressed in the migration file,
   findings recorded in the baseline; then report the suppression comments
   that suppressed nothing (SO902);
5. point each finding at its file and line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import migrations

from schemaops import source as source_module
from schemaops._gc import gc_paused
from schemaops.config import Config
from schemaops.dbfacts import DatabaseFacts
from schemaops.errors import ConfigError, RuleCrashed
from schemaops.findings import Finding, Location, Severity, recipe_written, write_recipe
from schemaops.phases import POST, phase_of
from schemaops.plan import (
    MigrationStep,
    OperationStep,
    Walker,
    is_django_operation,
    sql_analysed,
)
from schemaops.remedy.attach import wants_remedy
from schemaops.rules import (
    FinalContext,
    MigrationContext,
    OperationContext,
    Rule,
    StatementContext,
    Target,
    lookup,
    registered,
    rule_suggestion,
)
from schemaops.selection import relative, relative_file
from schemaops.session import connection_settings

# Meta rules the linter itself calls (they live in the registry like every rule).
SQL_UNPARSABLE = "SO901"
POST_DEPLOY_DEPENDENCY = "SO111"
UNUSED_SUPPRESSION = "SO902"


def _rule(code: str) -> type[Rule]:
    rule = registered()[code]
    return rule


def _key_of(f: Finding) -> tuple[str, str]:
    return (f.app or "", f.migration or "")


# The sections of a run's findings, in report order (LintResult.order): a pre-deploy
# migration's dependency on a post-deploy one, then each migration's findings as it is
# linted, then what the final project state shows, then suppressions that did nothing.
_DEPENDENCY, _WALKED, _FINAL, _UNUSED = range(4)


@dataclass
class LintResult:
    findings: list[Finding]
    migrations: int
    baselined: int = 0
    steps: list[MigrationStep] = field(default_factory=list)
    # (app, migration, operation index) -> the SQL the walk generated for it and for
    # its reverse: the remedy planner reuses it instead of rendering models again
    sql: dict[tuple[str, str, int], tuple[list[str], list[str]]] = field(default_factory=dict)
    # for every finding, where it stands in the report: (section, position), in ascending
    # order; the position of a finding about a migration is that migration's place in the
    # plan, so the findings of runs over parts of a selection merge into this order
    # (schemaops.gate.shards)
    order: list[tuple[Any, ...]] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, int]:
        return {"migrations": self.migrations}


def select_rules(config: Config) -> list[Any]:
    """The active rules after ``select`` and ``ignore`` (codes or names)."""
    RULES = registered()

    for ref in (*config.select, *config.ignore, *config.severity):
        if lookup(ref) is None:
            raise ConfigError(f"unknown rule {ref!r}{rule_suggestion(ref)} (see `schemaops rules`)")
    rules = [r for r in RULES.values() if not r.retired]
    if config.select:
        chosen = {lookup(ref).code for ref in config.select}  # type: ignore[union-attr]
        rules = [r for r in rules if r.code in chosen]
    ignored = {lookup(ref).code for ref in config.ignore}  # type: ignore[union-attr]
    return [r() for r in rules if r.code not in ignored]


class Linter:
    def __init__(
        self,
        loader: Any,
        config: Config,
        *,
        pg_version: int = 15,
        rules: list[Any] | None = None,
        want_sql: bool = False,
        keep_steps: bool = False,
        applied: set[tuple[str, str]] | None = None,
    ) -> None:
        self.loader = loader
        self.config = config
        self.target = Target(
            pg_version=pg_version,
            assume_timeouts=config.assume_timeouts,
            lock_timeout=config.lock_timeout,
            statement_timeout=config.statement_timeout,
            session=connection_settings(config.database),
        )
        self.rules = rules if rules is not None else select_rules(config)
        self.want_sql = want_sql
        self.keep_steps = keep_steps
        self.applied = applied or set()
        self._cwd = Path.cwd()
        self._severity = self._severity_overrides()
        self._by_op = [r for r in self.rules if r.operations]
        self._by_stmt = [r for r in self.rules if r.statements]
        # rules per operation class and per statement kind, filled as they are met
        self._op_rules: dict[type, list[Any]] = {}
        self._stmt_rules: dict[str, list[Any]] = {}
        self._judged_by_class: dict[type, set[str]] = {}
        self._by_mig = [r for r in self.rules if "check_migration" in type(r).hooks()]
        self._by_final = [r for r in self.rules if "check_final" in type(r).hooks()]
        self._final_ops: list[Any] = []  # OperationContexts of the selected migrations
        self._linted: dict[str, Any] = {}  # migration file -> its MigrationContext
        self._rule_failed = next((r for r in self.rules if r.code == "SO905"), None)
        self._crashes: list[tuple[Any, Any, Exception]] = []  # (rule, context, exception)
        # (rule, context, finding) of the findings whose recipe is still to write
        self._unwritten: list[tuple[Any, Any, Finding]] = []
        self._registry = registered()
        self._texts: set[str] = set()  # the SQL texts read in the migration being linted

    def _severity_overrides(self) -> dict[str, Severity]:
        out = {}
        for ref, level in self.config.severity.items():
            rule = lookup(ref)
            try:
                out[rule.code] = Severity.parse(level)  # type: ignore[union-attr]
            except ValueError as exc:
                raise ConfigError(f"[tool.schemaops] severity: {exc}") from None
        return out

    def run(
        self,
        selected: set[tuple[str, str]],
        progress: Callable[[MigrationStep], None] | None = None,
    ) -> LintResult:
        with gc_paused():
            return self._run(selected, progress)

    def _run(
        self,
        selected: set[tuple[str, str]],
        progress: Callable[[MigrationStep], None] | None,
    ) -> LintResult:
        walker = Walker(
            self.loader,
            pg_version=self.target.pg_version * 10000,
            want_sql=_always,
            want_reverse=_plannable,
        )
        findings: list[Finding] = []
        order: list[tuple[Any, ...]] = []  # see LintResult.order
        steps: list[MigrationStep] = []
        generated: dict[tuple[str, str, int], tuple[list[str], list[str]]] = {}
        source_module.clear_cache()
        self._final_ops, self._linted = [], {}
        position = {key: i for i, key in enumerate(walker.full_plan())}
        for step in walker.walk(keep=selected.__contains__):
            found = self.lint_migration(step, walker.state, walker.facts)
            findings.extend(found)
            at = (_WALKED, position[(step.app_label, step.name)])
            order.extend(at for _ in found)
            # the reverse's SQL of the operations whose remedy check plans (see _plannable)
            planned = {f.operation for f in found if wants_remedy(f, self._registry)}
            for op in step.operations:
                if op.index in planned:
                    op.make_reverse()
                else:
                    op.drop_reverse()
                if op.sql is not None and op.reverse_sql is not None and op.sql_error is None:
                    generated[(step.app_label, step.name, op.index)] = (op.sql, op.reverse_sql)
            if self.keep_steps:
                steps.append(step)
            if progress:
                progress(step)
        for section, found in (
            (_FINAL, self._lint_final(walker.state)),
            (_UNUSED, self._unused_suppressions()),
        ):
            findings.extend(found)
            order.extend((section, position.get(_key_of(f), -1)) for f in found)
        first = self._post_deploy_dependencies(selected)
        findings = first + findings
        order = [(_DEPENDENCY, (f.app, f.migration)) for f in first] + order
        findings, order, baselined = self._apply_baseline(findings, order)
        return LintResult(findings, len(selected), baselined, steps, generated, order)

    # -- one migration -----------------------------------------------------------

    def lint_migration(
        self, step: MigrationStep, state: Any, facts: DatabaseFacts | None = None
    ) -> list[Finding]:
        ctx = MigrationContext(step, self.target, phase_of(step.migration), state)
        if facts is not None:
            ctx.facts = facts
        self._texts = set()
        raw: list[Finding] = []
        for op_step in step.operations:
            raw.extend(self._lint_operation(ctx, op_step))
        for rule in self._by_mig:
            raw.extend(self._guarded(rule, rule.check_migration, ctx))
        raw = self._write_recipes(raw)
        raw.extend(self._crash_findings(raw))
        if self._by_final:
            self._final_ops.extend(ctx.operations)
        if step.path:
            self._linted[step.path] = ctx
        return self._finish(ctx, raw)

    def _lint_operation(self, mctx: Any, op_step: OperationStep) -> Iterator[Finding]:
        if not op_step.touches_database:
            return  # an unmanaged, proxy or swapped model: Django runs no SQL for it
        ctx = OperationContext(op_step, mctx)
        mctx.operations.append(ctx)
        reported: set[str] = set()
        for rule in self._rules_for_operation(type(op_step.operation)):
            for f in self._guarded(rule, rule.check_operation, ctx):
                reported.add(f.code)
                yield f
        yield from self._lint_sql(ctx, reported)
        self._track_new_tables(ctx)
        for child in op_step.children:
            yield from self._lint_operation(mctx, child)

    def _lint_sql(self, ctx: Any, reported: set[str]) -> Iterator[Finding]:
        """Statement rules on the SQL of a RunSQL, and on the SQL generated for every
        other operation (the statements Django runs for it, offline).

        A hazard is reported once: on generated SQL, a statement rule does not
        report a code the operation's own rules already reported for it
        (``reported``). For Django's own operations (the lock model stands for
        their statements: test_lockmap_agrees_with_sql holds the two equal) a
        rule that also judges the operation itself is left to that judgement,
        reported or not: it knows what the statement does not say (a USING
        cast that is binary-coercible, a table created in the same migration,
        a default Django drops again). Hygiene rules (a column type written by
        hand in SQL) do not read Django's own SQL either: there the type is
        the model field's, the project's choice, and their recipes rewrite a
        RunSQL. Nor is the one data change Django writes for its own operations
        (``UPDATE ... SET col = <default> WHERE col IS NULL`` before ``SET NOT
        NULL``) read on its own: the NOT NULL rule's verdict names it. What is
        left are the hazards only the statements show.
        The statements of Django's own operations feed only the statement rules:
        the migration-wide rules (timeouts, ordering) read those operations
        through the operation lock model already, so they are not counted twice.
        """
        from schemaops.plpgsql import with_do_bodies
        from schemaops.pycode import executed_sql
        from schemaops.statements import SQLSyntaxError, runsql_texts

        op = ctx.operation
        if isinstance(op, migrations.RunSQL):
            try:
                texts, generated = list(runsql_texts(op.sql)), False
            except ValueError as exc:
                yield _rule(SQL_UNPARSABLE)().finding(ctx, str(exc))
                return
        elif isinstance(op, migrations.RunPython):  # literal schema_editor.execute("...")
            texts, generated = executed_sql(op.code)[0], False
        elif ctx.step.sql:
            texts, generated = ["\n".join(ctx.step.sql)], True
        else:
            return
        # statements the operation lock model does not stand for (see sql_analysed)
        own_model = not is_django_operation(op) or sql_analysed(ctx.step)
        # codes the operation's own rules decide (see the docstring)
        judged = set() if own_model else self._judged(type(op))
        # generated SQL runs on the schema as it is before the operation, not after it
        # (made once a statement needs it: most of Django's are left to the operation rules)
        sql_ctx = None
        kept = not generated or own_model  # the statements migration-wide rules read
        for text in texts:
            try:
                statements = self._parse(text)
            except SQLSyntaxError as exc:
                yield _rule(SQL_UNPARSABLE)().finding(ctx, f"cannot parse SQL: {exc}")
                continue
            for stmt in with_do_bodies(statements):
                kind = type(stmt.node).__name__
                if not kept and kind in _DML:
                    continue  # Django's default fill: part of the change its rules judge
                rules = self._rules_for_statement(kind)
                if generated:
                    rules = [r for r in rules if r.code not in reported and r.code not in judged]
                if not kept and not rules and kind not in _CREATES:
                    continue  # nothing reads it
                if sql_ctx is None:
                    sql_ctx = _before_operation(ctx) if generated else ctx
                sctx = StatementContext(stmt.node, stmt.sql, sql_ctx, generated)
                if kept:
                    ctx.migration.statements.append(sctx)
                for rule in rules:
                    yield from self._guarded(rule, rule.check_statement, sctx)
                _track_created_table(sctx)

    def _parse(self, text: str) -> Sequence[Any]:
        """The statements of ``text``: the trees the run shares (the lock model and the
        remedy planner read the same SQL), except for a text this migration already
        ran, whose statements get trees of their own: rules find a statement among
        the migration's by identity (``earlier.node is ctx.node``)."""
        from schemaops.statements import parse, parsed

        if text in self._texts:
            return parse(text)
        self._texts.add(text)
        return parsed(text)

    def _guarded(self, rule: Any, hook: Callable[[Any], Any], ctx: Any) -> list[Finding]:
        """``hook(ctx)``'s findings; a rule that raises becomes an SO905 finding on ``ctx``.

        One rule failing on odd input (``RunSQL(42)``, a ``deconstruct()`` that
        raises) must not stop the other rules or the rest of the run.
        """
        try:
            found = list(hook(ctx) or ())
        except Exception as exc:
            self._crashes.append((rule, ctx, exc))
            return []
        for f in found:
            if not recipe_written(f):
                self._unwritten.append((rule, ctx, f))
        return found

    def _write_recipes(self, raw: list[Finding]) -> list[Finding]:
        """``raw`` with the recipes rules left to write later (:meth:`Rule.finding`) written
        now, under their rule's guard, for the operations check plans no remedy for.

        The others' are replaced by the planner's remedy, unread (where the planner finds
        none after all, the recipe is written when read). A recipe that raises here drops
        its finding and is reported as its rule's crash, as if the rule had raised.
        """
        unwritten, self._unwritten = self._unwritten, []
        if not unwritten:
            return raw
        planned = {f.operation for f in raw if wants_remedy(f, self._registry)}
        failed: set[int] = set()
        for rule, ctx, f in unwritten:
            if f.operation is not None and f.operation in planned:
                continue
            try:
                write_recipe(f)
            except Exception as exc:
                self._crashes.append((rule, ctx, exc))
                failed.add(id(f))
        return [f for f in raw if id(f) not in failed] if failed else raw

    def _crash_findings(self, found: list[Finding]) -> list[Finding]:
        """One SO905 per operation whose rules raised, unless SO901 already says why."""
        crashes, self._crashes = self._crashes, []
        if self._rule_failed is None or not crashes:
            return []  # the user turned SO905 off, or nothing raised
        # unreadable SQL (SO901) explains its operation's crashes, and a whole-migration rule's
        explained = {(f.migration, f.operation) for f in found if f.code == "SO901"}
        explained |= {(migration, None) for migration, _ in explained}
        by_place: dict[tuple[Any, Any], list[tuple[Any, Any, Exception]]] = {}
        for rule, ctx, exc in crashes:
            finding = self._rule_failed.failed(rule, ctx, exc)
            place = (finding.migration, finding.operation)
            if place not in explained:
                by_place.setdefault(place, []).append((rule, ctx, exc))
        return [self._rule_failed.failed_all(group) for group in by_place.values()]

    def _rules_for_operation(self, cls: type) -> list[Any]:
        rules = self._op_rules.get(cls)
        if rules is None:
            rules = self._op_rules[cls] = [r for r in self._by_op if issubclass(cls, r.operations)]
        return rules

    def _judged(self, cls: type) -> set[str]:
        """Codes of the active rules that judge operations of class ``cls`` themselves,
        and of the hygiene rules (see _lint_sql)."""
        judged = self._judged_by_class.get(cls)
        if judged is None:
            judged = {r.code for r in self._rules_for_operation(cls)}
            judged |= {r.code for r in self._by_stmt if r.category == "hygiene"}
            self._judged_by_class[cls] = judged
        return judged

    def _rules_for_statement(self, kind: str) -> list[Any]:
        rules = self._stmt_rules.get(kind)
        if rules is None:
            rules = self._stmt_rules[kind] = [r for r in self._by_stmt if kind in r.statements]
        return rules

    @staticmethod
    def _track_new_tables(ctx: Any) -> None:
        if isinstance(ctx.operation, migrations.CreateModel) and ctx.after is not None:
            ctx.migration.new_tables.add(ctx.after.db_table)

    # -- after the walk -------------------------------------------------------------

    def _lint_final(self, state: Any) -> list[Finding]:
        """Run ``check_final`` rules; filter their findings per migration like the rest."""
        if not self._by_final:
            return []
        fctx = FinalContext(state, self._final_ops, self.target, self.loader.graph)
        contexts = {(o.migration.app_label, o.migration.name): o.migration for o in fctx.operations}
        grouped: dict[tuple[Any, Any], list[Finding]] = {}
        for rule in self._by_final:
            with _rule_crashes("the final project state"):
                found = list(rule.check_final(fctx) or ())
            for f in found:
                grouped.setdefault((f.app, f.migration), []).append(f)
        out: list[Finding] = []
        for key, context in contexts.items():  # in the order the migrations were linted
            if key in grouped:
                out.extend(self._finish(context, grouped[key]))
        return out

    def _unused_suppressions(self) -> list[Finding]:
        """SO902: suppression comments that silenced nothing, name no rule, or give no reason."""
        rule: Any = next((r for r in self.rules if r.code == UNUSED_SUPPRESSION), None)
        if rule is None:
            return []
        active = {r.code for r in self.rules} | {r.name for r in self.rules}
        out = []
        for path, ctx in self._linted.items():
            for f in rule.audit(ctx, path, active):
                f.severity = self._severity.get(f.code, f.severity)
                out.append(f)
        return out

    # -- filtering ----------------------------------------------------------------

    def _finish(self, ctx: Any, raw: list[Finding]) -> list[Finding]:
        RULES = self._registry
        path = ctx.step.path
        out = []
        src = source_module.read(path, len(ctx.step.migration.operations)) if path and raw else None
        shown = relative_file(path, self._cwd) if src else None
        squashed = bool(getattr(ctx.step.migration, "replaces", None))
        for f in raw:
            rule = RULES.get(f.code)
            if ctx.phase == POST and rule is not None and rule.category == "additive":
                continue
            if squashed and rule is not None and not rule.holds_on_empty_database():
                continue
            if f.code in self._severity:
                f.severity = self._severity[f.code]
            if src is not None:
                f.location = Location(shown, src.line_of(f.operation))
                sup = src.suppression_for(f.operation, f.code, f.name)
                if sup is not None:
                    sup.used = True
                    f.suppressed = sup.reason
            out.append(f)
        return out

    def _post_deploy_dependencies(self, selected: set[tuple[str, str]]) -> list[Finding]:
        """A pre-deploy migration may not depend on a post-deploy one that is not applied."""

        rule = _rule(POST_DEPLOY_DEPENDENCY)()
        if rule.code not in {r.code for r in self.rules}:
            return []
        graph, out = self.loader.graph, []
        applied = self.applied
        pending_post = {
            k for k, n in graph.nodes.items() if k not in applied and phase_of(n) == POST
        }
        if not pending_post:
            return []
        for key in sorted(selected):
            node = graph.nodes[key]
            if phase_of(node) == POST:
                continue
            for parent in sorted(set(graph.forwards_plan(key)) & pending_post):
                if parent != key:
                    out.extend(self._finish_dependency(rule, key, parent))
        return out

    def _finish_dependency(
        self, rule: Any, key: tuple[str, str], parent: tuple[str, str]
    ) -> list[Finding]:
        node = self.loader.graph.nodes[key]
        path = _module_path(node)
        f = Finding(
            code=rule.code,
            name=rule.name,
            severity=self._severity.get(rule.code, rule.severity),
            message=(
                f"pre-deploy migration {key[0]}.{key[1]} depends on post-deploy migration "
                f"{parent[0]}.{parent[1]}, so it cannot be applied before the deploy"
            ),
            app=key[0],
            migration=key[1],
            operation=None,
            recipe=rule.recipe(key, parent),
        )
        if path:
            src = source_module.read(path, len(node.operations))
            f.location = Location(relative(path), src.line_of(None))
        return [f]

    def _apply_baseline(
        self, findings: list[Finding], order: list[tuple[Any, ...]]
    ) -> tuple[list[Finding], list[tuple[Any, ...]], int]:
        if not self.config.baseline:
            return findings, order, 0
        known = load_baseline(self.config.baseline)
        kept = [i for i, f in enumerate(findings) if f.fingerprint not in known]
        return [findings[i] for i in kept], [order[i] for i in kept], len(findings) - len(kept)


class _StateBefore(Mapping[Any, Any]):
    """The models of the walked state, with the operation's model as it was before it.

    The catalog the statement model reads for an operation's generated SQL
    (a column's type before ALTER COLUMN TYPE, the indexes a table has). The
    walk's state is the one after the whole migration; the operation's own
    model is the part its statements change, so it is shown as it was.
    """

    def __init__(self, models: Mapping[Any, Any], before: dict[Any, Any], hidden: set[Any]):
        self.base, self.before, self.hidden = models, before, hidden

    def __getitem__(self, key: Any) -> Any:
        if key in self.before:
            return self.before[key]
        if key in self.hidden:
            raise KeyError(key)
        return self.base[key]

    def __iter__(self) -> Iterator[Any]:
        yield from self.before
        for key in self.base:
            if key not in self.before and key not in self.hidden:
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class _CatalogState:
    """What rules read of a ProjectState as a catalog: its models (and real apps)."""

    models: Mapping[Any, Any]
    real_apps: set[str]


def _before_operation(ctx: Any) -> Any:
    """``ctx`` seen with the catalog as it is just before its operation (see _StateBefore)."""
    from dataclasses import replace

    from schemaops.plan import primary_key_after, primary_key_before

    step, mctx = ctx.step, ctx.migration
    key_before = primary_key_before(step.operation, step.app_label)
    key_after = primary_key_after(step.operation, step.app_label)
    if key_before is None and key_after is None:
        return ctx
    before = {key_before: step.before} if key_before and step.before is not None else {}
    hidden = {k for k in (key_before, key_after) if k is not None and k not in before}
    state = mctx.state
    models = _StateBefore(state.models, before, hidden)
    catalog = _CatalogState(models, set(getattr(state, "real_apps", ())))
    return OperationContext(step, replace(mctx, state=catalog))


# data changes in generated SQL: for Django's own operations, part of a schema change
_DML = frozenset({"UpdateStmt", "DeleteStmt", "InsertStmt"})


def _always(step: OperationStep) -> bool:
    """``check`` generates the SQL of every operation (cheap: see schemaops.plan)."""
    return True


def _plannable(step: OperationStep) -> bool:
    """Operations the remedy planner may plan: their reverse's SQL can be generated on the
    walk's renderings, so planning their remedy renders nothing. It is generated once the
    migration is linted, for the operations whose findings ask for a remedy."""
    from schemaops.remedy.planner import REMOVALS, REWRITABLE

    return (
        step.parent is None
        and is_django_operation(step.operation)
        and step.kind in (*REMOVALS, *REWRITABLE)
    )


@contextmanager
def _rule_crashes(where: str) -> Iterator[None]:
    """An exception raised by a rule becomes a :class:`RuleCrashed` naming it."""
    try:
        yield
    except Exception as exc:
        crash = _crashed(exc, where)
        if crash is None:
            raise
        raise crash from exc


def _crashed(exc: Exception, where: str) -> RuleCrashed | None:
    """The rule that raised (found in the traceback), named with how to go on without it."""
    if isinstance(exc, RuleCrashed):
        return None
    rule = None
    tb = exc.__traceback__
    while tb is not None:
        candidate = tb.tb_frame.f_locals.get("self")
        if isinstance(candidate, Rule):
            rule = candidate
            break
        tb = tb.tb_next
    if rule is None:
        return None
    first = (str(exc).strip().splitlines() or [""])[0]
    return RuleCrashed(
        f"rule {rule.code} {rule.name} failed on {where} ({type(exc).__name__}: {first}); "
        f"this is a bug in the rule: run with --ignore {rule.code} and report it"
    )


# statements that create a table the rest of the migration sees as new
_CREATES = frozenset({"CreateStmt", "CreateTableAsStmt"})


def _track_created_table(sctx: Any) -> None:
    if sctx.kind not in _CREATES:
        return  # most statements: no need to reach pglast's classes
    from pglast import ast

    node = sctx.node
    if isinstance(node, ast.CreateStmt | ast.CreateTableAsStmt):
        rel = node.relation if isinstance(node, ast.CreateStmt) else getattr(node.into, "rel", None)
        if rel is not None:
            sctx.migration.new_tables.add(str(rel.relname))


def _module_path(migration: Any) -> str | None:
    import sys

    module = sys.modules.get(type(migration).__module__)
    return getattr(module, "__file__", None)


# -- baseline -------------------------------------------------------------------


def load_baseline(path: str) -> set[str]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"baseline file {path} does not exist (create it with --write-baseline)"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ConfigError(f"{path} is not a schemaops baseline (version 1)")
    return set(data.get("findings", {}))


def write_baseline(path: str, findings: Iterable[Finding]) -> int:
    entries = {
        f.fingerprint: {
            "code": f.code,
            "app": f.app,
            "migration": f.migration,
            "operation": f.operation,
        }
        for f in findings
        if not f.suppressed
    }
    payload = {"version": 1, "findings": dict(sorted(entries.items()))}
    Path(path).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return len(entries)
