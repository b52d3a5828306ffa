"""Settings and maintenance: defaults tune would change, autovacuum, XID age (AU401-AU403)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from schemaops.audit._base import AuditContext, CheckSkipped, Hit, check, qualified
from schemaops.audit._catalog import NOT_EXTENSION, USER_SCHEMAS
from schemaops.errors import SchemaopsError
from schemaops.findings import Severity
from schemaops.statements import ident

SETTINGS = """
SELECT name, setting, unit, context, vartype, current_setting(name) AS display,
       pending_restart, source, boot_val
FROM pg_settings WHERE name = ANY(%(names)s)
"""


@check("AU401", "settings-at-default", Severity.WARNING)
def settings_at_default(ctx: AuditContext) -> Iterator[Hit]:
    """A setting is still at PostgreSQL's default where ``schemaops tune`` proposes another value.

    ## What it does
    Builds the same machine profile as ``schemaops tune`` (RAM, CPUs and
    storage detected when the server runs on this machine, or given with
    ``--memory``/``--cpus``/``--storage``), computes PGTune's proposals, and
    flags each setting whose value still comes from PostgreSQL's built-in
    default (``pg_settings.source = 'default'``) and differs from the proposal
    by more than 5%. The size of the data (less than RAM, 1-3x, more) takes
    this database's size from ``pg_class.relpages`` rather than stat()-ing each
    of its files as ``pg_database_size()`` does (a second at 100,000 indexes).

    ## Why is this bad?
    PostgreSQL's defaults fit a 1990s laptop: 128MB of ``shared_buffers``,
    4MB of ``work_mem``, ``random_page_cost = 4`` for spinning disks. A
    server left at them under-uses its memory and mis-plans on SSDs.

    ## Fix
    ``schemaops tune`` shows every proposal with its reasoning and
    ``schemaops tune --apply`` writes them with ``ALTER SYSTEM``.
    """
    from schemaops.tune.formulas import propose

    proposals = propose(_profile(ctx))
    rows = ctx.rows(SETTINGS, {"names": list(proposals)})
    yield from at_default(proposals, {r["name"]: r for r in rows})


def _profile(ctx: AuditContext) -> Any:
    from schemaops.tune.detect import server_inputs
    from schemaops.tune.inputs import build_profile

    try:
        # the size bucket only: this database's size from its catalog, not its files
        detected = server_inputs(ctx.conn, ctx.params, estimate_this_database=True)
        return build_profile(ctx.machine, detected)
    except SchemaopsError as exc:  # e.g. a remote server and no --memory
        raise CheckSkipped(str(exc)) from None


def at_default(proposals: Mapping[str, Any], rows: Mapping[str, dict[str, Any]]) -> Iterator[Hit]:
    """Hits for proposals whose setting still comes from the built-in default."""
    from schemaops.tune.diff import ServerSetting, is_close
    from schemaops.tune.inputs import readable

    for name, proposal in proposals.items():
        row = rows.get(name)
        if row is None or row["source"] != "default":
            continue
        server = ServerSetting(**{k: row[k] for k in ServerSetting.__dataclass_fields__})
        if is_close(proposal, server):
            continue
        restart = " (needs a restart)" if row["context"] == "postmaster" else ""
        yield Hit(
            message=(
                f"{name} is still PostgreSQL's default {row['display']}; "
                f"tune proposes {readable(proposal.setting)}{restart}: {proposal.why}"
            ),
            obj=name,
            evidence={
                "current": row["display"],
                "proposed": proposal.setting,
                "context": row["context"],
            },
            fix=f"ALTER SYSTEM SET {name} = '{proposal.setting}';  -- or: schemaops tune --apply",
        )


AUTOVACUUM = f"""
SELECT n.nspname AS schema, s.relname AS "table", s.n_live_tup, s.n_dead_tup,
       s.last_autovacuum, s.last_vacuum, s.autovacuum_count,
       greatest(s.last_autovacuum, s.last_vacuum) AS last_any,
       greatest(s.last_autovacuum, s.last_vacuum) > now() - interval '1 hour' AS recent,
       coalesce(opt.threshold, current_setting('autovacuum_vacuum_threshold'))::float
         + coalesce(opt.scale, current_setting('autovacuum_vacuum_scale_factor'))::float
           * greatest(c.reltuples, s.n_live_tup, 0) AS trigger,
       coalesce(opt.enabled, 'true')::bool AS enabled
FROM pg_stat_user_tables s
JOIN pg_class c ON c.oid = s.relid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (
  SELECT max(split_part(o, '=', 2)) FILTER (WHERE o LIKE 'autovacuum\\_vacuum\\_threshold=%%')
           AS threshold,
         max(split_part(o, '=', 2)) FILTER (WHERE o LIKE 'autovacuum\\_vacuum\\_scale\\_factor=%%')
           AS scale,
         max(split_part(o, '=', 2)) FILTER (WHERE o LIKE 'autovacuum\\_enabled=%%') AS enabled
  FROM unnest(coalesce(c.reloptions, '{{}}')) o) opt
WHERE s.n_dead_tup >= %(min_dead)s AND {USER_SCHEMAS}
ORDER BY s.n_dead_tup DESC
"""


@check("AU402", "autovacuum-behind", Severity.WARNING)
def autovacuum_behind(ctx: AuditContext) -> Iterator[Hit]:
    """Dead rows pile up past the autovacuum trigger and no vacuum ran in the last hour.

    ## What it does
    For each table computes autovacuum's trigger, ``threshold + scale_factor
    * reltuples`` (per-table reloptions override the server settings, as in
    pg-extras ``vacuum_stats``), and flags tables whose ``n_dead_tup`` is past
    it with no (auto)vacuum in the last hour, or with autovacuum disabled
    (postgres-checkup F003).

    ## Why is this bad?
    Dead rows make scans read more pages, bloat the table and its indexes for
    good, and stop index-only scans from skipping the heap. A table that
    autovacuum never reaches is also a wraparound risk.

    ## Fix
    Run ``VACUUM (ANALYZE)`` on it now, then let autovacuum keep up: re-enable
    it, lower the table's ``autovacuum_vacuum_scale_factor`` (large tables),
    or give autovacuum more workers and cost budget (``schemaops tune``).
    """
    server_on = ctx.rows("SELECT current_setting('autovacuum')::bool AS on")[0]["on"]
    unattended = []  # tables behind only because the server runs no autovacuum at all
    for row in ctx.rows(AUTOVACUUM, {"min_dead": ctx.thresholds.dead_tuples_min}):
        behind = row["n_dead_tup"] > row["trigger"]
        if not behind or (row["recent"] and row["enabled"] and server_on):
            continue
        if row["enabled"] and not server_on:
            unattended.append(row)
        else:
            yield _vacuum_hit(ctx, row)
    if not server_on:
        yield _server_off_hit(ctx, unattended)


def _server_off_hit(ctx: AuditContext, behind: list[dict[str, Any]]) -> Hit:
    """autovacuum = off for the whole server: one finding about the setting, not one per table."""
    names = [ctx.models.label(r["table"]) if ctx.models else r["table"] for r in behind]
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return Hit(
        message="autovacuum is off for the whole server (autovacuum = off): no table is "
        "vacuumed or analyzed automatically"
        + (f"; {len(names)} table(s) are past their trigger: {shown}" if names else ""),
        obj="autovacuum",
        evidence={"setting": "autovacuum", "value": "off", "tables_behind": names},
        fix="ALTER SYSTEM SET autovacuum = on;\nSELECT pg_reload_conf();",
    )


def _vacuum_hit(ctx: AuditContext, row: dict[str, Any]) -> Hit:
    where = qualified(row["schema"], row["table"])
    label = ctx.models.label(row["table"]) if ctx.models else where
    total = row["n_live_tup"] + row["n_dead_tup"]
    pct = 100.0 * row["n_dead_tup"] / total if total else 0.0
    last = row["last_any"].isoformat(timespec="seconds") if row["last_any"] else "never"
    table = f"{ident(row['schema'])}.{ident(row['table'])}"
    reasons = [] if row["enabled"] else ["autovacuum is disabled for it"]
    fix = f"VACUUM (ANALYZE, VERBOSE) {table};"
    if not row["enabled"]:
        fix += f"\nALTER TABLE {table} RESET (autovacuum_enabled);"
    return Hit(
        message=(
            f"{label}: {row['n_dead_tup']:,} dead rows ({pct:.0f}%), past the autovacuum "
            f"trigger of {int(row['trigger']):,}; last vacuum: {last}"
            + "".join(f"; {r}" for r in reasons)
        ),
        obj=where,
        schema=row["schema"],
        evidence={
            "n_dead_tup": row["n_dead_tup"],
            "n_live_tup": row["n_live_tup"],
            "dead_pct": round(pct, 1),
            "autovacuum_trigger": int(row["trigger"]),
            "last_autovacuum": row["last_autovacuum"],
            "last_vacuum": row["last_vacuum"],
            "autovacuum_enabled": row["enabled"],
        },
        fix=fix,
    )


# One pg_class scan finds the old relations, TOAST tables included (PgHero's
# transaction_id_danger joins every table to its TOAST table first: two scans and a
# hash of every relation); each old TOAST table is then traced to its table through
# its internal dependency, for the few found.
XID_AGE = f"""
WITH old AS MATERIALIZED (
  SELECT c.oid, c.relkind, age(c.relfrozenxid) AS age
  FROM pg_class c
  WHERE c.relkind IN ('r', 'm', 't') AND age(c.relfrozenxid) >= %(min_age)s
), owners AS (
  SELECT CASE WHEN o.relkind = 't' THEN
           (SELECT d.refobjid FROM pg_depend d
            WHERE d.classid = 'pg_class'::regclass AND d.objid = o.oid AND d.objsubid = 0
              AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i' LIMIT 1)
         ELSE o.oid END AS oid,
         o.age
  FROM old o
)
SELECT 'database' AS kind, NULL AS schema, datname AS name, age(datfrozenxid) AS age
FROM pg_database WHERE datname = current_database() AND age(datfrozenxid) >= %(min_age)s
UNION ALL
SELECT 'table', n.nspname, c.relname, max(w.age)
FROM owners w
JOIN pg_class c ON c.oid = w.oid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND {USER_SCHEMAS} AND {NOT_EXTENSION.format(rel="c")}
GROUP BY n.nspname, c.relname
"""

XID_LIMIT = 2**31


@check("AU403", "xid-wraparound", Severity.WARNING)
def xid_wraparound(ctx: AuditContext) -> Iterator[Hit]:
    """The database or a table is far into its transaction ID range.

    ## What it does
    Compares ``age(datfrozenxid)`` of the database and ``age(relfrozenxid)``
    of each table (and its TOAST table) with the 2^31 limit: a warning from
    50% used (postgres-checkup F002), an error from 75%.

    ## Why is this bad?
    Near the limit PostgreSQL forces aggressive anti-wraparound vacuums and,
    at the very end, refuses new transactions to protect the data: a full
    outage until a single-user VACUUM finishes.

    ## Fix
    ``VACUUM (FREEZE, VERBOSE)`` the oldest tables now; find what holds back
    the horizon (long transactions, abandoned replication slots, prepared
    transactions), and make autovacuum keep up (AU402).
    """
    t = ctx.thresholds
    min_age = int(XID_LIMIT * t.xid_warn_pct / 100)  # only the rows that become findings
    for row in ctx.rows(XID_AGE, {"min_age": min_age}):
        pct = 100.0 * row["age"] / XID_LIMIT
        if pct < t.xid_warn_pct:
            continue
        name = row["name"] if row["kind"] == "database" else qualified(row["schema"], row["name"])
        target = (
            "" if row["kind"] == "database" else f" {ident(row['schema'])}.{ident(row['name'])}"
        )
        yield Hit(
            message=f"{row['kind']} {name} has used {pct:.1f}% of its transaction ID range "
            f"(age {row['age']:,})",
            obj=name,
            schema=row["schema"],
            evidence={"xid_age": row["age"], "percent_used": round(pct, 2)},
            fix=f"VACUUM (FREEZE, VERBOSE){target};",
            severity=Severity.ERROR if pct >= t.xid_error_pct else None,
        )
