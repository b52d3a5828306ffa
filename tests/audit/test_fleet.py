"""Multi-tenant databases: schema selection, findings grouped per schema, progress, and
index definitions composed from the shared snapshot exactly as the server prints them."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import psycopg2
import pytest
from support import run_cli  # type: ignore[import-not-found]

from schemaops.audit._base import AuditContext
from schemaops.audit._catalog import indexes, preload_definitions
from schemaops.audit.progress import audit_progress
from schemaops.audit.runner import open_readonly, run_audit, select, select_schemas


def _dsn(params):
    return f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"


def _tenants(db, names, tables=1):
    for name in names:
        db.sql(f"CREATE SCHEMA {name}")
        db.sql(*[f"CREATE TABLE {name}.nokey{k} (a int)" for k in range(tables)])


def test_schema_patterns_select_and_exclude_tenants(db):
    _tenants(db, ["tenant_a", "tenant_b", "tenant_test", "billing"])
    db.sql("CREATE TABLE public.nokey (a int)")

    def audited(**selection):
        result = run_audit(db.params, select(["AU201"]), **selection)
        return {f.obj for f in result.findings}, result.schemas

    everything, schemas = audited()
    assert everything == {
        "nokey",
        "tenant_a.nokey0",
        "tenant_b.nokey0",
        "tenant_test.nokey0",
        "billing.nokey0",
    }
    assert schemas == ["billing", "public", "tenant_a", "tenant_b", "tenant_test"]
    found, schemas = audited(schemas=["tenant_*"], exclude_schemas=["*_test"])
    assert found == {"tenant_a.nokey0", "tenant_b.nokey0"}
    assert schemas == ["tenant_a", "tenant_b"]
    found, _ = audited(schemas=["billing", "public"])
    assert found == {"nokey", "billing.nokey0"}
    found, _ = audited(exclude_schemas=["tenant_*", "public"])
    assert found == {"billing.nokey0"}


def test_schema_selection_reaches_the_index_snapshot_and_stats_checks(db):
    _tenants(db, ["tenant_a", "tenant_b"])
    for name in ("tenant_a", "tenant_b"):
        db.sql(
            f"CREATE TABLE {name}.t (id int PRIMARY KEY, a int, b int)",
            f"CREATE INDEX ON {name}.t (a)",
            f"CREATE INDEX ON {name}.t (a, b)",
        )
    result = run_audit(db.params, select(["AU106", "AU201"]), schemas=["tenant_b"])
    assert {(f.code, f.obj, f.schema) for f in result.findings} == {
        ("AU106", "tenant_b.t_a_idx", "tenant_b"),
        ("AU201", "tenant_b.nokey0", "tenant_b"),
    }


def test_a_schema_pattern_matching_nothing_is_one_line_exit_2(db, tmp_path):
    out = run_cli("audit", "--dsn", _dsn(db.params), "--schema", "tenant_*", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "schemaops: error: --schema 'tenant_*' matches no schema in this database"
    ]


def test_many_findings_are_grouped_per_schema_in_text_and_markdown(db, tmp_path):
    _tenants(db, ["tenant_a", "tenant_b", "tenant_c"], tables=8)
    args = ("audit", "--dsn", _dsn(db.params), "--check", "AU201")
    text = run_cli(*args, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    headings = [line for line in text.stdout.splitlines() if line.startswith("== schema")]
    assert headings == [
        f"== schema tenant_{s}: 8 finding(s), 0 error(s), 8 warning(s) ==" for s in "abc"
    ]
    body = text.stdout
    assert body.index("== schema tenant_b") < body.index("tenant_b.nokey0 has no primary key")
    assert body.index("tenant_b.nokey7 has no primary key") < body.index("== schema tenant_c")
    markdown = run_cli(*args, "--format", "markdown", cwd=tmp_path).stdout
    assert "#### schema tenant_a: 8 finding(s), 0 error(s), 8 warning(s)" in markdown
    assert markdown.count("| | code | where | finding | lock |") == 3
    report = json.loads(run_cli(*args, "--format", "json", cwd=tmp_path).stdout)
    assert {f["schema"] for f in report["findings"]} == {"tenant_a", "tenant_b", "tenant_c"}
    assert report["summary"]["schemas"] == 4  # public too


def test_few_findings_or_one_schema_are_not_grouped(db, tmp_path):
    _tenants(db, ["tenant_a", "tenant_b"], tables=2)
    out = run_cli("audit", "--dsn", _dsn(db.params), "--check", "AU201", cwd=tmp_path)
    assert "== schema" not in out.stdout and "tenant_b.nokey1 has no primary key" in out.stdout
    db.sql(*[f"CREATE TABLE tenant_a.more{k} (a int)" for k in range(30)])
    out = run_cli(
        "audit", "--dsn", _dsn(db.params), "--check", "AU201", "--schema", "tenant_a", cwd=tmp_path
    )
    assert "== schema" not in out.stdout and out.stdout.count("has no primary key") == 32


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_once_the_audit_takes_a_while(db):
    db.sql("CREATE TABLE nokey (a int)")
    stream = Terminal()
    progress = audit_progress("text", 2, stream)
    assert progress is not None
    progress.timer.cancel()  # draw now instead of after a second
    checks = select(["AU201", "AU203"])
    progress(checks[0], 0)
    progress._show()
    progress(checks[1], 1)
    assert "AU203 not-valid-constraint" in stream.getvalue()
    progress(None, 2)
    drawn = stream.getvalue()
    assert "schemaops audit" in drawn and "AU201 table-without-primary-key" in drawn
    assert "2/2" in drawn and drawn.endswith("\n")


def test_a_quick_audit_draws_no_progress_even_on_a_terminal(db):
    stream = Terminal()
    progress = audit_progress("text", 1, stream)
    run_audit(db.params, select(["AU203"]), progress=progress)
    assert stream.getvalue() == ""


def test_no_progress_without_a_terminal_or_with_json(db, tmp_path):
    assert audit_progress("text", 3, io.StringIO()) is None
    assert audit_progress("json", 3, Terminal()) is None
    db.sql("CREATE TABLE nokey (a int)")
    out = run_cli("audit", "--dsn", _dsn(db.params), "--check", "AU201", cwd=tmp_path)
    assert out.returncode == 0
    assert out.stderr == ""  # CI: stderr is a pipe


def test_composed_definitions_are_what_the_server_prints(db):
    db.sql(
        'CREATE SCHEMA "Tenant One"',
        'CREATE TABLE "Tenant One"."Order" (id int PRIMARY KEY, "position" int, "Mixed" text,'
        ' code varchar(10), at timestamptz, note text COLLATE "C", n numeric, "select" int)',
        'CREATE INDEX ON "Tenant One"."Order" ("position")',
        'CREATE INDEX "Pos Mixed" ON "Tenant One"."Order" ("position", "Mixed")',
        'CREATE INDEX ON "Tenant One"."Order" (code varchar_pattern_ops)',
        'CREATE INDEX ON "Tenant One"."Order" (at DESC NULLS LAST)',
        'CREATE INDEX ON "Tenant One"."Order" (note COLLATE "POSIX")',
        'CREATE INDEX ON "Tenant One"."Order" (note)',
        'CREATE UNIQUE INDEX ON "Tenant One"."Order" (code) INCLUDE (n, "select")',
        'CREATE UNIQUE INDEX ON "Tenant One"."Order" (n) NULLS NOT DISTINCT',
        'CREATE INDEX ON "Tenant One"."Order" (n) WITH (fillfactor = 70)',
        'CREATE INDEX ON "Tenant One"."Order" (lower(code))',
        'CREATE INDEX ON "Tenant One"."Order" ("position") WHERE "position" > 0',
        'CREATE INDEX ON "Tenant One"."Order" USING hash ("select")',
        "CREATE TABLE public.part (id int, at date) PARTITION BY RANGE (at)",
        "CREATE TABLE public.part_a PARTITION OF public.part"
        " FOR VALUES FROM (MINVALUE) TO (MAXVALUE)",
        "CREATE INDEX ON public.part (id)",
        "CREATE TABLE public.again (id int, at date)",  # the same shapes, other names
        "CREATE INDEX ON public.again (id)",
        "CREATE INDEX ON public.again (at DESC NULLS LAST)",
    )
    conn = open_readonly(db.params, "30s")
    try:
        ctx = AuditContext(conn)
        ctx.schemas = select_schemas(conn, [], [])
        found = indexes(ctx)
        preload_definitions(ctx, found)
        known = ctx.cached("definitions", dict)
        composed = ctx.cached("composed_definitions", set)
        with psycopg2.connect(**db.params) as check, check.cursor() as cur:
            for index in found:
                cur.execute("SELECT pg_get_indexdef(%s)", (index.index_oid,))
                assert known[index.index_oid] == cur.fetchone()[0], index.index
    finally:
        conn.close()
    assert len(composed) >= 5  # the repeated shapes were composed, not read
    by_name = {i.index: i.index_oid for i in found}
    assert by_name["again_id_idx"] in composed or by_name["part_id_idx"] in composed


def _fleet_slice(db):
    """Two tenants with redundant, duplicate, unused-sized and foreign-key-less indexes."""
    for name in ("tenant_a", "tenant_b"):
        db.sql(
            f"CREATE SCHEMA {name}",
            f"CREATE TABLE {name}.p (id int PRIMARY KEY)",
            f"CREATE TABLE {name}.c (id int PRIMARY KEY, p_id int REFERENCES {name}.p,"
            " a int, b int, at timestamp, doc json)",
            f"CREATE INDEX ON {name}.c (a)",
            f"CREATE INDEX ON {name}.c (a, b)",
            f"CREATE INDEX dup1 ON {name}.c (b)",
            f"CREATE INDEX dup2 ON {name}.c (b)",
        )


def test_read_ahead_on_the_side_connection_gives_the_same_findings(db, monkeypatch):
    """The snapshot lane's catalog reads (column names, foreign keys, lookups) are read
    ahead on the side connection; the findings equal those of an audit that reads them
    itself, and the snapshot lane never runs the queries read ahead."""
    from schemaops.audit import runner
    from schemaops.audit._catalog import INDEXED_COLUMNS, read_ahead

    _fleet_slice(db)
    codes = ["AU101", "AU104", "AU105", "AU106", "AU107", "AU108", "AU201", "AU204", "AU205"]
    ahead = read_ahead(set(codes))
    assert INDEXED_COLUMNS in ahead and len(ahead) >= 3
    ran_on_snapshot_lane: list[str] = []
    tuples = AuditContext.tuples

    def spy(self, query, params=None):
        if self.prefetched and query in self.prefetched:
            ran_on_snapshot_lane.append(query)  # served from the read-ahead, not run
        return tuples(self, query, params)

    monkeypatch.setattr(AuditContext, "tuples", spy)
    with_ahead = run_audit(db.params, select(codes))
    monkeypatch.setattr(runner, "read_ahead", lambda codes: [])
    without = run_audit(db.params, select(codes))
    assert not with_ahead.failed and not without.failed
    assert with_ahead.findings and {f.code for f in with_ahead.findings} >= {"AU101", "AU105"}
    assert [f.to_dict() for f in with_ahead.findings] == [f.to_dict() for f in without.findings]
    assert INDEXED_COLUMNS in ran_on_snapshot_lane  # awaited, read by the other lane


def test_read_ahead_only_what_the_selected_checks_need():
    from schemaops.audit._catalog import INDEXED_COLUMNS, LOOKUPS, read_ahead
    from schemaops.audit.indexes import FOREIGN_KEYS

    assert read_ahead({"AU102"}) == []  # reads no snapshot
    assert read_ahead({"AU108"}) == [q for n, q in LOOKUPS.items() if n != "opclass"]
    assert INDEXED_COLUMNS not in read_ahead({"AU104"}) and FOREIGN_KEYS in read_ahead({"AU104"})
    assert INDEXED_COLUMNS in read_ahead({"AU106"}) and FOREIGN_KEYS not in read_ahead({"AU106"})


def test_a_failed_read_ahead_fails_the_check_that_awaits_it_in_one_line(db):
    """A query read ahead that fails (here: a division by zero standing in for a timeout)
    is reported by the check that needed it, as if it had run it; the audit goes on."""
    from concurrent.futures import Future

    from schemaops.audit.runner import AuditResult, read_ahead_for, run_one

    broken = "SELECT 1 / 0"
    main, side = (AuditContext(open_readonly(db.params, "30s")) for _ in range(2))
    try:
        main.prefetched = {broken: Future()}
        read_ahead_for(main, side)
        with pytest.raises(psycopg2.Error):
            main.tuples(broken)
        chk = select(["AU201"])[0]
        func = chk.func

        def awaiting(ctx):
            ctx.tuples(broken)
            return func(ctx)

        result = AuditResult()
        run_one(main, replace(chk, func=awaiting), result, "30s")
        assert "division by zero" in result.failed["AU201"]
        assert "\n" not in result.failed["AU201"]
    finally:
        main.conn.close()
        side.conn.close()
