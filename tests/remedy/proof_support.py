"""What the remedy proof measures: schemas, project states, statements under strong locks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2
from pglast import ast, enums
from psycopg2 import sql
from support import PG, create_database, drop_database

from schemaops.locks import Lock
from schemaops.statements import parse

STATE_SCRIPT = """
import json, django
django.setup()
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.writer import MigrationWriter
loader = MigrationLoader(None, ignore_no_migrations=True)
state = loader.project_state()
code = lambda value: MigrationWriter.serialize(value)[0]
out = {}
for (app, name), model in sorted(state.models.items()):
    fields = sorted((n, code(f)) for n, f in model.fields.items())
    options = sorted((k, code(v)) for k, v in model.options.items())
    out[f"{app}.{name}"] = repr((fields, options))
print(json.dumps(out))
"""

MIGRATE_SCRIPT = """
import sys, django
django.setup()
from django.core.management import call_command
for target in sys.argv[1:]:
    call_command("migrate", *target.split(":"), verbosity=0)
"""


def run(root: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A command in the proof project, against database ``db``."""
    env = {**os.environ, "PROOF_DB_NAME": db, "PYTHONPATH": str(root)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DJANGO_SETTINGS_MODULE"] = "proofproj.settings"
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def schemaops(root: Path, db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(root, db, "-m", "schemaops", *args)


def migrate(root: Path, db: str, *targets: str) -> None:
    """``migrate`` to each ``app:migration`` target (``app``: to the end; none: all)."""
    done = run(root, db, "-c", MIGRATE_SCRIPT, *(targets or ("",)))
    assert done.returncode == 0, done.stderr


def project_state(root: Path, db: str) -> dict[str, str]:
    done = run(root, db, "-c", STATE_SCRIPT)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def schema(db: str, prefix: str) -> dict[str, list[Any]]:
    """Columns, constraints and indexes of the tables named ``prefix...``, names aside."""
    conn = psycopg2.connect(**{**PG, "dbname": db})
    try:
        with conn.cursor() as cur:
            like = prefix.replace("_", r"\_") + "%"
            cur.execute(
                "SELECT table_name, column_name, data_type, is_nullable, column_default, "
                "character_maximum_length FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name LIKE %s ORDER BY 1, 2",
                (like,),
            )
            columns = [list(r) for r in cur.fetchall()]
            cur.execute(
                "SELECT c.relname, con.contype, pg_get_constraintdef(con.oid), con.convalidated "
                "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
                "WHERE c.relname LIKE %s ORDER BY 1, 2, 3",
                (like,),
            )
            constraints = [list(r) for r in cur.fetchall()]
            cur.execute(
                "SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid), x.indisvalid "
                "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname LIKE %s",
                (like,),
            )
            indexes = sorted(
                [table, definition.replace(f'"{name}"', "?").replace(f" {name} ", " ? "), valid]
                for table, name, definition, valid in cur.fetchall()
            )
        return {"columns": columns, "constraints": constraints, "indexes": indexes}
    finally:
        conn.close()


def seed(db: str, apps: list[str], rows: int = 300, fill: dict[str, str] | None = None) -> None:
    """Rows that every case's change accepts: distinct codes, quantities >= 0, parents;
    ``fill`` gives the SQL expression (of the row's ``id``) of an app's field ``f``."""
    conn = psycopg2.connect(**{**PG, "dbname": db})
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for app in apps:
                parents = sql.SQL(
                    "INSERT INTO {} (title) SELECT g::text FROM generate_series(1, 10) g"
                )
                cur.execute(parents.format(sql.Identifier(f"{app}_parent")))
                items = sql.SQL(
                    "INSERT INTO {} (name, qty, code, legacy, ref_id) SELECT "
                    "'n' || g, g, 'c' || g, 'x', 1 + mod(g, 10) FROM generate_series(1, %s) g"
                )
                cur.execute(items.format(sql.Identifier(f"{app}_item")), (rows,))
                if fill and app in fill:  # the expression is the test's own literal SQL
                    update = sql.SQL("UPDATE {} SET f = " + fill[app])
                    cur.execute(update.format(sql.Identifier(f"{app}_item")))
    finally:
        conn.close()


def scans_under_lock(trace: dict[str, Any], app: str) -> list[str]:
    """Statements of ``app`` that build an index or validate a constraint on an existing
    table while holding a lock that blocks writes: the work that grows with the table."""
    found = []
    for migration in trace["migrations"]:
        if migration["app"] != app:
            continue
        for stmt in migration["statements"]:
            blocking = [
                lk
                for lk in stmt["locks"]
                if lk["preexisting"]
                and lk["kind"] == "table"
                and (mode := Lock.from_mode(lk["mode"])) is not None
                and mode.blocks_writes
            ]
            if blocking and _scans(stmt["sql"]):
                found.append(f"{migration['migration']}: {stmt['sql'][:100]}")
    return found


def _scans(sql: str) -> bool:
    try:
        statements = parse(sql)
    except Exception:
        return False
    for s in statements:
        node = s.node
        if isinstance(node, ast.IndexStmt) and not node.concurrent:
            return True
        if isinstance(node, ast.AlterTableStmt):
            for cmd in node.cmds or ():
                if _validating(cmd):
                    return True
    return False


def _validating(cmd: Any) -> bool:
    """ADD CONSTRAINT that checks every row (FK, CHECK, UNIQUE without an index), or
    ADD COLUMN with an inline REFERENCES or UNIQUE."""
    if cmd.subtype == enums.AlterTableType.AT_AddColumn:
        inline = (enums.ConstrType.CONSTR_FOREIGN, enums.ConstrType.CONSTR_UNIQUE)
        return any(c.contype in inline for c in cmd.def_.constraints or ())
    if cmd.subtype != enums.AlterTableType.AT_AddConstraint:
        return False
    con = cmd.def_
    if con.contype in (enums.ConstrType.CONSTR_FOREIGN, enums.ConstrType.CONSTR_CHECK):
        return not con.skip_validation
    return con.contype == enums.ConstrType.CONSTR_UNIQUE and not con.indexname


def written_files(proof: dict[str, Any], app: str) -> str:
    """The migrations ``fix`` wrote for ``app`` (all but its 0001), each headed by its name."""
    files = proof["files"][app]
    return "\n".join(f"# {name}\n{text}" for name, text in files.items() if name != "0001_initial")


def assert_models_py_needs_the_lines(root: Path, app: str, without: str, with_: str) -> None:
    """``makemigrations --check`` finds ``app``'s models.py ``without`` the remedy's lines
    different from the state, and ``with_`` them clean (it reads no table)."""
    path = root / app / "models.py"
    path.write_text(without)
    try:
        check = ("-m", "django", "makemigrations", app, "--check", "--dry-run")
        differs = run(root, "postgres", *check)
        assert differs.returncode == 1, "without the lines the models differ from the state"
        path.write_text(with_)
        done = run(root, "postgres", *check)
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        path.unlink()


def compat_breaks(done: subprocess.CompletedProcess[str], *, expected: bool) -> list[Any]:
    """The breaks ``trace --compat`` reports; its exit status says whether there are any."""
    assert done.returncode == (1 if expected else 0), done.stdout[-2000:] + done.stderr[-2000:]
    breaks: list[Any] = json.loads(done.stdout)["breaks"]
    return breaks


def copy_of(root: Path, original: Path) -> Path:
    """``root`` copied to ``original`` (an empty or missing folder), before ``fix`` edits it."""
    shutil.rmtree(original, ignore_errors=True)
    shutil.copytree(root, original)
    return original


def original_remedy(proof: dict[str, Any], app: str) -> dict[str, Any]:
    """The remedy ``check`` showed on the original project for ``app``'s errors (every one
    of which has it)."""
    report = proof["original_check"]
    mine = [f for f in report["findings"] if f["app"] == app and f["severity"] == "error"]
    assert mine and all(f["remedy"] == mine[0]["remedy"] for f in mine)
    remedy: dict[str, Any] = report["remedies"][mine[0]["remedy"]]
    return remedy


def prove_written_beside_original(
    factory: Any, name: str, write: Callable[[Path], list[str]], databases: tuple[str, str]
) -> dict[str, Any]:
    """The project ``write`` makes in a fresh folder ``name``, a copy of it kept as the
    original, then :func:`prove_beside_original` with ``trace --compat``."""
    root = factory.mktemp(name)
    apps = write(root)
    original = copy_of(root, factory.mktemp(f"{name}_original"))
    return prove_beside_original(root, original, apps, *databases, compat=True)


def prove_beside_original(
    root: Path, original: Path, apps: list[str], ref: str, db: str, *, compat: bool = False
) -> dict[str, Any]:
    """:func:`prove`, plus what ``check`` reports on the ``original`` project (a copy of
    ``root`` before ``fix``) under ``original_check``; with ``compat``, the rollout
    replayed by ``trace --compat`` on the fixed migrations (``compat``) and on the
    original ones (``compat_original``): db is back at the 0001s (prove reversed it),
    ref is taken back there first."""
    checked = schemaops(original, ref, "check", "--format", "json")
    out = prove(root, apps, ref, db)
    out["original_check"] = json.loads(checked.stdout)
    if compat:
        out["compat"] = schemaops(root, db, "trace", "--compat", "--format", "json", "-q")
        for app in apps:
            run(original, ref, "-m", "django", "migrate", app, "0001", "-v", "0")
        out["compat_original"] = schemaops(
            original, ref, "trace", "--compat", "--format", "json", "-q"
        )
    return out


def prove(
    root: Path,
    apps: list[str],
    ref: str,
    db: str,
    fill: dict[str, str] | None = None,
    between: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Everything the proof compares: the original run on ``ref``, ``fix`` then the
    result's check, trace, migrate (pre, post) and reverse on ``db`` (made anew as a
    copy of ``ref`` at the 0001s); ``between`` runs after the pre-deploy phase (what the
    deploy does then: a backfill)."""
    out: dict[str, Any] = {"apps": apps, "root": root, "db": db}
    migrate(root, ref, *(f"{app}:0001_initial" for app in apps))
    clone(ref, db)  # the same 0001s, without running them a second time
    original_trace = schemaops(root, ref, "trace", "--rows", "300", "--format", "json", "-q")
    assert original_trace.returncode == 0, original_trace.stderr
    out["original_trace"] = json.loads(original_trace.stdout)
    out["original_state"] = project_state(root, ref)
    migrate(root, ref)
    out["reference"] = {app: schema(ref, app) for app in apps}

    out["initial"] = {app: schema(db, app) for app in apps}
    seed(db, apps, fill=fill)
    fixed = schemaops(root, db, "fix")
    assert fixed.returncode == 0, fixed.stderr
    out["fix_output"] = fixed.stdout
    out["files"] = {app: _files(root / app / "migrations") for app in apps}
    checked = schemaops(root, db, "check", "--format", "json")
    assert checked.returncode in (0, 1), checked.stderr
    out["findings"] = json.loads(checked.stdout)["findings"]
    traced = schemaops(root, db, "trace", "--rows", "300", "--format", "json", "-q")
    assert traced.returncode == 0, traced.stdout + traced.stderr
    out["trace"] = json.loads(traced.stdout)
    out["state"] = project_state(root, db)
    for phase in ("pre", "post"):
        applied = schemaops(root, db, "migrate", "--phase", phase)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        if phase == "pre" and between is not None:
            between(out)
    out["fixed"] = {app: schema(db, app) for app in apps}
    migrate(root, db, *(f"{app}:0001_initial" for app in apps))
    out["reversed"] = {app: schema(db, app) for app in apps}
    return out


def clone(template: str, name: str) -> None:
    """Database ``name`` anew, a copy of ``template``; see support.create_database."""
    drop_database(name)
    create_database(name, template)


def _files(folder: Path) -> dict[str, str]:
    return {p.stem: p.read_text() for p in sorted(folder.glob("0*.py"))}


def assert_proven(proof: dict[str, Any], app: str) -> None:
    """(a) to (d) for one app of a proof (see tests/remedy/test_proof.py)."""
    files = proof["files"][app]
    assert any("SeparateDatabaseAndState" in text for text in files.values()), "planned"
    assert_a_to_d(proof, app)


TIMEOUT_RULES = ("SO401", "SO402")


def timeout_findings(findings: list[dict[str, Any]], app: str) -> list[str]:
    """SO401 / SO402 on the files ``fix`` wrote for ``app`` (the case's own ``0001_initial``
    aside): the proof projects do not set ``assume-timeouts``, so the written files must
    set ``lock_timeout`` themselves (and take no slow blocking lock)."""
    return [
        f"{f['code']} {f['migration']}: {f['message']}"
        for f in findings
        if f["app"] == app and f["code"] in TIMEOUT_RULES and f["migration"] != "0001_initial"
    ]


def assert_a_to_d(proof: dict[str, Any], app: str) -> None:
    """(a) to (c) (:func:`assert_a_to_c`), and (d) schema and state equal the original's,
    for one app of a proof."""
    assert_a_to_c(proof, app)
    assert proof["fixed"][app] == proof["reference"][app], "(d) schema"
    state = {k: v for k, v in proof["state"].items() if k.startswith(f"{app}.")}
    original = {k: v for k, v in proof["original_state"].items() if k.startswith(f"{app}.")}
    assert state == original, "(d) state"


def assert_a_to_c(proof: dict[str, Any], app: str) -> None:
    """(a) check clean, without timeout findings, (b) applies and reverses, (c) no blocking
    hold or scan, for one app of a proof."""
    from schemaops.remedy.verify import blocking_holds

    errors = [f for f in proof["findings"] if f["app"] == app and f["severity"] == "error"]
    assert errors == [], "(a)"
    assert timeout_findings(proof["findings"], app) == [], "(a) timeouts"
    assert proof["reversed"][app] == proof["initial"][app], "(b) reverse"
    mine = {"migrations": [m for m in proof["trace"]["migrations"] if m["app"] == app]}
    assert mine["migrations"] and all(not m["error"] for m in mine["migrations"]), "(b)"
    assert blocking_holds(mine) == [], "(c) lock budget"
    assert scans_under_lock(proof["trace"], app) == [], "(c) scans under a blocking lock"
