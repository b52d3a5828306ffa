"""What real databases have and test fixtures rarely do: odd schemas and names, a role
that cannot read everything, an extension created but not preloaded."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg2
import pytest

from schemaops.audit import Thresholds
from schemaops.audit.runner import run_audit, select

ODD = '"Odd ""Schema"""'


def test_varchar_fix_names_the_tables_schema_and_runs(db):
    db.sql(
        f"CREATE SCHEMA {ODD}",
        f'CREATE TABLE {ODD}."Names" ("Full Name" varchar(10))',
        f"INSERT INTO {ODD}.\"Names\" SELECT 'abcdefghi' || (g % 2) FROM generate_series(1, 50) g",
        'CREATE TABLE public."Names" ("Full Name" varchar(10))',  # same name, short values
        "INSERT INTO public.\"Names\" SELECT 'ab' FROM generate_series(1, 50)",
        "ANALYZE",
    )
    [finding] = db.audit("AU206")
    assert finding.obj == 'Odd "Schema".Names'
    statement = finding.recipe.split(";")[0] + ";"
    assert statement.startswith(f'ALTER TABLE {ODD}."Names"')
    db.sql(statement)  # paste-ready: changes the odd schema's table, not public's
    db.sql("ANALYZE")
    assert db.audit("AU206") == []


def test_not_valid_constraint_fix_quotes_odd_names_and_runs(db):
    db.sql(
        f"CREATE SCHEMA {ODD}",
        f'CREATE TABLE {ODD}."Order" (n int)',
        'CREATE TABLE public."Order" (n int)',  # same name, nothing to validate
        f'ALTER TABLE {ODD}."Order" ADD CONSTRAINT "N > 0" CHECK (n > 0) NOT VALID',
    )
    [finding] = db.audit("AU203")
    assert finding.obj == 'Odd "Schema".Order.N > 0'
    statement = f'ALTER TABLE {ODD}."Order" VALIDATE CONSTRAINT "N > 0";'
    assert finding.recipe == (
        f"migrations.RunSQL({statement!r}, reverse_sql=migrations.RunSQL.noop),"
    )
    db.sql(statement)
    assert db.audit("AU203") == []


def test_sequence_finding_names_the_column_without_models(db):
    db.sql(
        f"CREATE SCHEMA {ODD}",
        f'CREATE TABLE {ODD}.t (n smallserial, "Id" serial PRIMARY KEY)',
        f"SELECT setval(pg_get_serial_sequence('{ODD}.t', 'n'), 32000)",
    )
    [finding] = db.audit("AU202")
    assert finding.obj == 'Odd "Schema".t.n'
    assert 'column Odd "Schema".t.n (smallint)' in finding.message


def test_pg_stat_statements_created_but_not_preloaded_is_a_skip(db):
    conn = psycopg2.connect(**db.params)
    with conn.cursor() as cur:
        cur.execute("SHOW shared_preload_libraries")
        preloaded = "pg_stat_statements" in cur.fetchone()[0]
    conn.close()
    if preloaded:
        pytest.skip("this server preloads pg_stat_statements")
    db.sql("CREATE EXTENSION pg_stat_statements", "CREATE EXTENSION hypopg")
    result = run_audit(db.params, select(["AU103"]))
    assert result.failed == {}
    assert "shared_preload_libraries" in result.skipped["AU103"]


@pytest.fixture
def reader(db) -> Iterator[dict[str, str]]:
    """A login role with SELECT on public only (and pg_read_all_stats)."""
    role = f"schemaops_ro_{uuid.uuid4().hex[:8]}"
    db.sql(
        f"CREATE ROLE {role} LOGIN",
        f"GRANT pg_read_all_stats TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
    )
    try:
        yield {**db.params, "user": role}
    finally:
        db.sql(f"DROP OWNED BY {role}", f"DROP ROLE {role}")


def test_what_a_read_only_role_cannot_see_is_a_note_not_a_silence(db, reader):
    db.sql(
        "CREATE SCHEMA hidden",
        "CREATE TABLE hidden.full_int (id serial PRIMARY KEY, v varchar(10))",
        "SELECT setval('hidden.full_int_id_seq', 2000000000)",
        "INSERT INTO hidden.full_int (v) SELECT 'abcdefghij' FROM generate_series(1, 50)",
        "CREATE TABLE public.open_int (id serial PRIMARY KEY)",
        "GRANT SELECT ON public.open_int TO PUBLIC",
        "ANALYZE",
    )
    as_admin = run_audit(db.params, select(["AU202", "AU206"]), thresholds=Thresholds())
    assert {f.code for f in as_admin.findings} == {"AU202", "AU206"} and not as_admin.notes
    result = run_audit(reader, select(["AU202", "AU206", "AU110"]), thresholds=Thresholds())
    assert result.failed == {} and result.findings == []
    assert "hidden.full_int_id_seq" in result.notes["AU202"][0]
    assert "hidden.full_int" in result.notes["AU206"][0]
    assert "cannot SELECT 1 table(s)" in result.notes["AU110"][0]


def test_the_audit_session_runs_without_jit(db):
    from schemaops.audit.runner import open_readonly

    conn = open_readonly(db.params, "30s")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW jit")
            assert cur.fetchone()[0] == "off"
    finally:
        conn.close()
