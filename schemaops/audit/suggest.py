"""AU103: index suggestions for the slowest queries, proven with hypothetical indexes.

The method is Dexter's (hypothetical indexes with HypoPG), reduced to what a
read-only audit can do:

1. take the slowest statements of this database from ``pg_stat_statements``;
2. parse each with PostgreSQL's grammar (pglast) and collect the columns its
   WHERE, JOIN and ORDER BY clauses name, resolved to real table columns;
3. cost the generic plan (``PREPARE`` + ``plan_cache_mode =
   force_generic_plan`` + ``EXPLAIN EXECUTE`` with NULLs, as Dexter does
   before PostgreSQL 16);
4. create HypoPG hypothetical btree indexes (backend memory only, nothing is
   written): pass 1 one per column, pass 2 every two-column permutation per
   table; re-cost after each pass;
5. keep the hypothetical indexes the cheapest plan uses when it saves at
   least 50% of the cost, drop those an existing index already covers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from psycopg2 import sql

from schemaops.audit._base import AuditContext, CheckSkipped, Hit, check, qualified
from schemaops.audit._catalog import indexes
from schemaops.audit._django import add_index_fix
from schemaops.findings import Severity

SLOW = """
SELECT queryid, query, calls, mean_exec_time, total_exec_time
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND calls >= %(min_calls)s AND mean_exec_time >= %(min_ms)s
ORDER BY total_exec_time DESC
LIMIT %(limit)s
"""
TABLE_COLUMNS = """
SELECT n.nspname AS schema, c.relname AS "table", a.attname AS "column",
       t.typname AS type
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
WHERE c.oid = to_regclass(%(name)s) AND c.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""
UNINDEXABLE = {"json", "jsonb", "point", "xml", "tsvector"}


@dataclass
class Query:
    """One statement: its tables (alias -> (schema, table)) and candidate columns."""

    text: str
    tables: dict[str, tuple[str, str]] = field(default_factory=dict)
    columns: set[tuple[str, str, str]] = field(default_factory=set)  # schema, table, column
    params: int = 0


@check("AU103", "slow-query-index", Severity.WARNING, needs=("pg_stat_statements",))
def slow_query_index(ctx: AuditContext) -> Iterator[Hit]:
    """A slow query would be much cheaper with an index, proven with a hypothetical index.

    ## What it does
    Takes the statements with the most total time in ``pg_stat_statements``
    (at least 50 calls and 20 ms on average, as PgHero), finds the columns
    their WHERE, JOIN and ORDER BY clauses use, and tries HypoPG hypothetical
    btree indexes on them (one and two columns, as Dexter). An index is
    suggested when the planner's estimated cost of the query drops by at
    least 50% and no existing index starts with the same columns. The
    estimated gain and the queries it helps are the evidence.

    ## Why is this bad?
    These queries are where the database spends its time; the planner itself
    says an index would cut their cost.

    ## Fix
    Add the index concurrently: ``AddIndexConcurrently`` for the model that
    owns the table (the migration is printed), then watch the query's mean
    time in ``pg_stat_statements``.
    """
    if not ctx.has_extension("pg_stat_statements"):
        raise CheckSkipped("pg_stat_statements is not installed in this database")
    if not ctx.has_extension("hypopg"):
        raise CheckSkipped("the hypopg extension is not installed: cannot prove suggestions")
    t = ctx.thresholds
    params = {
        "min_calls": t.slow_query_min_calls,
        "min_ms": t.slow_query_min_ms,
        "limit": t.slow_query_limit,
    }
    suggestions: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    for row in _slow_statements(ctx, params):
        for key, proof in prove(ctx, row["query"]).items():
            entry = suggestions.setdefault(key, {"queries": []})
            entry["queries"].append({**proof, **_stats(row)})
    for (schema, table, cols), entry in suggestions.items():
        yield _suggestion_hit(ctx, schema, table, list(cols), entry["queries"])


def _slow_statements(ctx: AuditContext, params: dict[str, Any]) -> list[dict[str, Any]]:
    import psycopg2

    try:
        return ctx.rows(SLOW, params)
    except psycopg2.errors.ObjectNotInPrerequisiteState:  # CREATE EXTENSION without preloading
        raise CheckSkipped(
            "pg_stat_statements is installed but not loaded: add it to "
            "shared_preload_libraries and restart"
        ) from None


def _stats(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "queryid": row["queryid"],
        "calls": row["calls"],
        "mean_ms": round(row["mean_exec_time"], 2),
        "total_ms": round(row["total_exec_time"], 1),
        "query": " ".join(row["query"].split())[:300],
    }


def _suggestion_hit(
    ctx: AuditContext, schema: str, table: str, cols: list[str], queries: list[dict[str, Any]]
) -> Hit:
    best = max(queries, key=lambda q: q["gain_pct"])
    where = qualified(schema, table)
    label = ctx.models.label(table, cols) if ctx.models and schema == "public" else where
    total = sum(q["total_ms"] for q in queries)
    return Hit(
        message=(
            f"index on {where} ({', '.join(cols)}) [{label}] cuts the estimated cost of "
            f"{len(queries)} slow quer{'y' if len(queries) == 1 else 'ies'} by up to "
            f"{best['gain_pct']:.0f}% ({best['cost_before']:.0f} -> {best['cost_after']:.0f}); "
            f"they took {total / 1000:.1f} s in total: {best['query'][:120]}"
        ),
        obj=f"{where}({','.join(cols)})",
        evidence={"columns": cols, "estimated_gain_pct": best["gain_pct"], "queries": queries},
        fix=add_index_fix(ctx.models, schema, table, cols),
    )


def prove(ctx: AuditContext, text: str) -> dict[tuple[str, str, tuple[str, ...]], dict[str, Any]]:
    """Index suggestions for one statement with the cost before and after, or {}."""
    query = parse(ctx, text)
    if query is None or not query.columns:
        return {}
    try:
        before = generic_cost(ctx, query)
        if before is None:
            return {}
        return _passes(ctx, query, before)
    finally:
        ctx.rows("SELECT hypopg_reset()")


def _passes(ctx: AuditContext, query: Query, before: float) -> dict[Any, dict[str, Any]]:
    bar = before * (1 - ctx.thresholds.suggest_min_gain_pct / 100)
    singles = [[c] for c in sorted(query.columns)]
    names = _hypothetical(ctx, singles)
    cost1, used1 = _cost_with(ctx, query, names)
    names.update(_hypothetical(ctx, _pairs(query)))
    cost2, used2 = _cost_with(ctx, query, names)
    options: list[tuple[float, list[Any]]] = []
    if cost2 is not None and cost2 < bar and len(set(used2)) == 1:
        options.append((cost2, used2[:1]))
    if cost1 is not None and cost1 < bar:
        if len(set(used1)) > 1:  # Dexter's pass 3: each index alone
            options.extend(_alone(ctx, query, sorted(set(used1)), bar))
        else:
            options.append((cost1, used1))
    if not options:
        return {}
    after, used = min(options, key=lambda o: (o[0], len(o[1])))
    gain = round(100 * (1 - after / before), 1) if before else 0.0
    proof = {"cost_before": round(before, 2), "cost_after": round(after, 2), "gain_pct": gain}
    return {key: proof for key in used if not _already_covered(ctx, key)}


def _pairs(query: Query) -> list[list[tuple[str, str, str]]]:
    by_table: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in sorted(query.columns):
        by_table.setdefault((schema, table), []).append(column)
    return [
        [(s, t, a), (s, t, b)]
        for (s, t), cols in by_table.items()
        for a, b in itertools.permutations(cols, 2)
    ][:40]


def _alone(
    ctx: AuditContext, query: Query, used: list[tuple[str, str, tuple[str, ...]]], bar: float
) -> list[tuple[float, list[Any]]]:
    found = []
    for key in used:
        ctx.rows("SELECT hypopg_reset()")
        names = _hypothetical(ctx, [[(key[0], key[1], c) for c in key[2]]])
        cost, hit = _cost_with(ctx, query, names)
        if cost is not None and cost < bar and hit:
            found.append((cost, [key]))
    return found


def _hypothetical(
    ctx: AuditContext, column_sets: list[list[tuple[str, str, str]]]
) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """Create hypothetical btree indexes; map their names to (schema, table, columns)."""
    created = {}
    for cols in column_sets:
        schema, table = cols[0][0], cols[0][1]
        names = tuple(c[2] for c in cols)
        statement = (
            sql.SQL("CREATE INDEX ON {}.{} ({})")
            .format(
                sql.Identifier(schema),
                sql.Identifier(table),
                sql.SQL(", ").join(sql.Identifier(n) for n in names),
            )
            .as_string(ctx.conn)
        )
        row = ctx.rows("SELECT indexname FROM hypopg_create_index(%s)", (statement,))
        created[row[0]["indexname"]] = (schema, table, names)
    return created


def _cost_with(
    ctx: AuditContext, query: Query, names: dict[str, tuple[str, str, tuple[str, ...]]]
) -> tuple[float | None, list[tuple[str, str, tuple[str, ...]]]]:
    plan = explain(ctx, query)
    if plan is None:
        return None, []
    used = [names[n] for n in _index_names(plan) if n in names]
    return float(plan["Total Cost"]), used


def _index_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "Index Name" in node:
            yield node["Index Name"]
        for value in node.values():
            yield from _index_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _index_names(item)


def _already_covered(ctx: AuditContext, key: tuple[str, str, tuple[str, ...]]) -> bool:
    schema, table, cols = key
    n = len(cols)
    return any(
        i.schema == schema
        and i.table == table
        and i.is_valid
        and i.am == "btree"
        and not i.predicate
        and tuple(i.columns[:n]) == cols
        for i in indexes(ctx)
    )


def generic_cost(ctx: AuditContext, query: Query) -> float | None:
    plan = explain(ctx, query)
    return float(plan["Total Cost"]) if plan else None


def explain(ctx: AuditContext, query: Query) -> dict[str, Any] | None:
    """The generic plan of a normalized ($1) statement, without running it; None if unplannable."""
    import psycopg2

    args = sql.SQL(", ").join(sql.SQL("NULL") for _ in range(query.params))
    execute: sql.Composable = sql.SQL("EXPLAIN (FORMAT JSON) EXECUTE schemaops_audit_q")
    if query.params:
        execute = sql.SQL("{} ({})").format(execute, args)
    try:
        ctx.rows("SET plan_cache_mode = force_generic_plan")
        # the statement is the server's own normalized text from pg_stat_statements
        ctx.rows(sql.SQL("PREPARE schemaops_audit_q AS {}").format(sql.SQL(query.text)))
        try:
            with ctx.conn.cursor() as cur:
                cur.execute(execute)
                return dict(cur.fetchone()[0][0]["Plan"])
        finally:
            ctx.rows("DEALLOCATE schemaops_audit_q")
    except psycopg2.errors.QueryCanceled:
        raise
    except psycopg2.Error:
        return None
    finally:
        ctx.rows("RESET plan_cache_mode")


def parse(ctx: AuditContext, text: str) -> Query | None:
    """Tables and candidate columns of one SELECT, UPDATE or DELETE; None otherwise."""
    from pglast import ast, parse_sql
    from pglast.visitors import Visitor

    try:
        stmts = parse_sql(text)
    except Exception:
        return None
    if len(stmts) != 1:
        return None
    stmt = stmts[0].stmt
    if not isinstance(stmt, ast.SelectStmt | ast.UpdateStmt | ast.DeleteStmt):
        return None
    query = Query(text)

    class Collect(Visitor):  # type: ignore[misc]
        def visit_RangeVar(self, _ancestors: Any, node: Any) -> None:
            found = _resolve(ctx, node.schemaname, node.relname)
            if found:
                query.tables[node.alias.aliasname if node.alias else node.relname] = found

        def visit_ParamRef(self, _ancestors: Any, node: Any) -> None:
            query.params = max(query.params, node.number)

    Collect()(stmt)
    for clause in _clauses(stmt):
        for ref in _column_refs(clause):
            _add_column(ctx, query, ref)
    return query


def _clauses(stmt: Any) -> list[Any]:
    from pglast import ast

    found = [getattr(stmt, "whereClause", None), getattr(stmt, "sortClause", None)]
    if isinstance(stmt, ast.SelectStmt):
        found.extend(_join_quals(stmt.fromClause))
    return [c for c in found if c is not None]


def _join_quals(from_clause: Any) -> list[Any]:
    from pglast import ast

    quals: list[Any] = []
    for item in from_clause or ():
        if isinstance(item, ast.JoinExpr):
            quals.append(item.quals)
            quals.extend(_join_quals([item.larg, item.rarg]))
    return quals


def _column_refs(node: Any) -> list[list[str]]:
    from pglast import ast
    from pglast.visitors import Visitor

    refs: list[list[str]] = []

    class Refs(Visitor):  # type: ignore[misc]
        def visit_ColumnRef(self, _ancestors: Any, ref: Any) -> None:
            parts = [getattr(f, "sval", None) for f in ref.fields]
            if all(isinstance(p, str) for p in parts):
                refs.append([str(p) for p in parts])

    items = node if isinstance(node, tuple) else (node,)
    for item in items:
        target: Any = item.node if isinstance(item, ast.SortBy) else item
        Refs()(target)
    return refs


def _resolve(ctx: AuditContext, schema: str | None, name: str) -> tuple[str, str] | None:
    rows = _columns_of(ctx, f"{schema}.{name}" if schema else name)
    return (rows[0]["schema"], rows[0]["table"]) if rows else None


def _columns_of(ctx: AuditContext, name: str) -> list[dict[str, Any]]:
    quoted = ".".join(sql.Identifier(p).as_string(ctx.conn) for p in name.split("."))
    return list(ctx.cached(f"columns:{quoted}", lambda: ctx.rows(TABLE_COLUMNS, {"name": quoted})))


def _add_column(ctx: AuditContext, query: Query, ref: list[str]) -> None:
    column = ref[-1]
    owners = [query.tables.get(ref[-2])] if len(ref) >= 2 else list(query.tables.values())
    for owner in owners:
        if owner is None:
            continue
        for row in _columns_of(ctx, f"{owner[0]}.{owner[1]}"):
            if row["column"] == column and row["type"] not in UNINDEXABLE:
                query.columns.add((owner[0], owner[1], column))
                return
