"""The audit's fast paths at fleet scale give the same findings as the plain ones.

Definitions composed from an index's shape (instead of ``pg_get_indexdef`` per
index), the CONCURRENTLY rewrite that skips pglast for composed definitions,
and the once-per-schema quoting of fixes are only shortcuts: an audit with them
turned off must print the very same findings, texts, fixes and JSON.
"""

from __future__ import annotations

import json

from schemaops.audit import _catalog, _django
from schemaops.audit.runner import run_audit, select
from schemaops.statements import ident

CODES = ["AU101", "AU104", "AU105", "AU106", "AU107", "AU108", "AU201", "AU204", "AU205"]


def _awkward_fleet(db):
    """Redundant, duplicate and like indexes under names that need quoting, in
    several schemas (one repeated shape per schema, so definitions are composed),
    on plain and partitioned tables."""
    for schema in ("tenant_a", '"Tenant B"', '"select"'):
        db.sql(
            f"CREATE SCHEMA {schema}",
            f"CREATE TABLE {schema}.p (id int PRIMARY KEY)",
            f'CREATE TABLE {schema}."Order" (id int PRIMARY KEY, p_id int REFERENCES {schema}.p,'
            ' "position" int, "Mixed" text COLLATE "C", code varchar(10) COLLATE "C", n int)',
            f'CREATE INDEX ON {schema}."Order" ("position")',
            f'CREATE INDEX "Pos Mixed" ON {schema}."Order" ("position", "Mixed")',
            f'CREATE INDEX ON {schema}."Order" (code)',
            f'CREATE INDEX ON {schema}."Order" (code varchar_pattern_ops)',
            f'CREATE INDEX "user" ON {schema}."Order" (n DESC)',
            f'CREATE INDEX dup2 ON {schema}."Order" (n DESC)',
            f'CREATE UNIQUE INDEX ON {schema}."Order" (n) INCLUDE ("Mixed")',
            f'CREATE INDEX ON {schema}."Order" (n)',
            f"CREATE TABLE {schema}.part (id int, at date, k int) PARTITION BY RANGE (at)",
            f"CREATE TABLE {schema}.part_a PARTITION OF {schema}.part"
            " FOR VALUES FROM (MINVALUE) TO (MAXVALUE)",
            f"CREATE INDEX ON {schema}.part (k)",
            f"CREATE INDEX ON {schema}.part (k, id)",
        )


def _findings(db):
    result = run_audit(db.params, select(CODES))
    assert not result.failed
    return [json.dumps(f.to_dict(), sort_keys=True, default=str) for f in result.findings]


def test_fast_paths_give_the_findings_of_the_plain_paths(db, monkeypatch):
    _awkward_fleet(db)
    fast = _findings(db)
    codes = {json.loads(f)["code"] for f in fast}
    assert {"AU105", "AU106", "AU107"} <= codes, codes
    # the plain paths: every definition read from the server and rewritten by pglast,
    # every schema quoted for each fix
    monkeypatch.setattr(_catalog, "_shape", lambda index, columns: None)
    monkeypatch.setattr(_django, "_schema_ident", ident)
    plain = _findings(db)
    assert fast == plain


def test_fixes_quote_schemas_and_names_as_the_server_needs(db):
    _awkward_fleet(db)
    fixes = {(f["code"], f["object"]): f["recipe"] for f in map(json.loads, _findings(db))}
    fix = fixes[("AU106", "Tenant B.Order_position_idx")]
    assert fix.startswith('DROP INDEX CONCURRENTLY IF EXISTS "Tenant B"."Order_position_idx";')
    assert (
        'CREATE INDEX CONCURRENTLY "Order_position_idx" ON "Tenant B"."Order" USING btree'
        ' ("position");' in fix
    )
    fix = fixes[("AU105", "select.user")]  # dup2 is kept: the copies are flagged by name
    assert fix.startswith('DROP INDEX CONCURRENTLY IF EXISTS "select"."user";')
    assert 'CREATE INDEX CONCURRENTLY "user" ON "select"."Order" USING btree (n DESC);' in fix
    fix = fixes[("AU106", "tenant_a.part_k_idx")]
    assert fix.startswith("-- part_k_idx is a partitioned index")
    assert "DROP INDEX IF EXISTS tenant_a.part_k_idx;" in fix
    assert fix.endswith("CREATE INDEX part_k_idx ON tenant_a.part (k);")
