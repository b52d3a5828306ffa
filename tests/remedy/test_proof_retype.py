"""Proof of the online type change (schemaops/remedy/retype.py), on the real PostgreSQL.

The same proof as tests/remedy/test_proof.py ((a) check clean on the result,
(b) applies pre then post on seeded tables and reverses, (c) no write-blocking
lock past the budget nor a scan under one, (d) final schema and state equal
the original's), for type changes that rewrite the table: a primary key
widened (AutoField -> BigAutoField), int -> bigint on an indexed column and on
a unique NOT NULL one, varchar -> integer (Django's USING cast). Between the
phases the exact ``schemaops backfill`` command ``fix`` printed runs, as the
deploy would. The cases the planner must not write code for (a primary key
other tables reference) keep their migration, with a summary of what to do by
hand; safe changes (varchar -> text) get no remedy; IntegerField ->
PositiveIntegerField is one NOT VALID + VALIDATE remedy with no rewrite.
"""

from __future__ import annotations

import json
import shlex
import uuid
from pathlib import Path
from typing import Any

import proof_project
import psycopg2
import pytest
from proof_support import assert_proven, migrate, prove, run, schemaops
from support import PG, create_database, drop_database

# case -> (operation, the remedy kind); Item.f is the case's extra field (EXTRA)
CASES: dict[str, tuple[str, str]] = {
    "pk_widen": (
        'migrations.AlterField("item", "id", models.BigAutoField(primary_key=True))',
        "shadow-column-swap",
    ),
    "int_bigint_indexed": (
        'migrations.AlterField("item", "qty", models.BigIntegerField(null=True))',
        "shadow-column-swap",
    ),
    "int_bigint_unique": (
        'migrations.AlterField("item", "f", models.BigIntegerField(unique=True, null=True))',
        "shadow-column-swap",
    ),
    "int_varchar": (  # a USING cast; varchar -> integer is planned alike (trace's random
        # strings cannot be cast, so the proof takes the other direction)
        'migrations.AlterField("item", "f", models.CharField(max_length=20, null=True))',
        "shadow-column-swap",
    ),
    "varchar_widen_checked": (  # no rewrite, but PostgreSQL re-validates the CHECK (SO219)
        'migrations.AlterField("item", "code", models.CharField(max_length=40, null=True))',
        "recheck-not-valid",
    ),
    "collation_indexed": (  # no rewrite, but every index on the column is rebuilt
        'migrations.AlterField("item", "f", models.CharField(max_length=20, null=True, '
        'db_index=True, db_collation="C"))',
        "shadow-column-swap",
    ),
    "array_element": (
        'migrations.AlterField("item", "f", ArrayField(models.BigIntegerField(), null=True))',
        "shadow-column-swap",
    ),
    "positive": (
        'migrations.AlterField("item", "qty", models.PositiveIntegerField(null=True))',
        "not-valid-then-validate",
    ),
    # a foreign key re-pointed to a model whose key is narrower (Parent's bigint to Item's
    # own integer id, as to auth_user.id): Django narrows the column, online here; the new
    # target is the table trace seeds, so the existing values are valid keys of it
    "repoint_narrower": (
        'migrations.AlterField("item", "ref", models.ForeignKey("item", null=True, '
        "on_delete=models.CASCADE))",
        "shadow-column-swap",
    ),
    # the same to the swappable user model (auth_user.id is an integer): Item.f, a key to
    # the user model, makes trace seed auth_user, and users exist before the post phase
    "repoint_user": (
        'migrations.AlterField("item", "ref", models.ForeignKey(settings.AUTH_USER_MODEL, '
        "null=True, on_delete=models.CASCADE))",
        "shadow-column-swap",
    ),
}
UNPLANNED: dict[str, tuple[str, str]] = {
    # no code remedy: Item.ref references Parent's key
    "pk_widen_referenced": (
        'migrations.AlterField("parent", "id", models.BigAutoField(primary_key=True))',
        "advice",
    ),
    # binary-coercible: no finding, no remedy
    "varchar_text": (
        'migrations.AlterField("item", "name", models.TextField(null=True))',
        "none",
    ),
}
EXTRA = {
    "collation_indexed": "models.CharField(max_length=20, null=True, db_index=True)",
    "array_element": "ArrayField(models.IntegerField(), null=True)",
    "int_bigint_unique": "models.IntegerField(unique=True, null=True)",
    "int_varchar": "models.IntegerField(null=True)",
    "repoint_user": "models.ForeignKey(settings.AUTH_USER_MODEL, null=True, "
    "on_delete=models.CASCADE)",
}
FILL = {
    "c_int_bigint_unique": "id",
    "c_int_varchar": "id",
    "c_collation_indexed": "'v' || id",
    "c_array_element": "ARRAY[id, id + 1]",
}
# the model whose primary key starts as a 32-bit AutoField
AUTO_KEY = {
    "pk_widen": '("name"',
    "pk_widen_referenced": '("title"',
    "repoint_narrower": '("name"',
}
PROVEN = sorted(CASES)
# only what `schemaops backfill start <app>.Item` needs: the table and its key (the columns
# it sets and reads are the table's); the migrations alone make the schema
MODELS = """from django.db import models


class Item(models.Model):
    class Meta:
        managed = False
"""


def _write(root: Path, cases: dict[str, tuple[str, str]]) -> list[str]:
    apps = proof_project.write(root, cases, extra_fields=EXTRA)
    settings = root / "proofproj" / "settings.py"
    text = settings.read_text().replace(
        '"django.contrib.auth", ', '"django.contrib.auth", "schemaops.backfill", '
    )
    settings.write_text(text)
    for app in ("c_array_element",) if "array_element" in cases else ():
        for name in ("0001_initial.py", "0002_unsafe.py"):
            path = root / app / "migrations" / name
            text = path.read_text().replace(
                "from django.db import migrations, models\n",
                "from django.contrib.postgres.fields import ArrayField\n"
                "from django.db import migrations, models\n",
                1,
            )
            path.write_text(text)
    if "repoint_user" in cases:  # Item.f is a key to the user model
        initial = root / "c_repoint_user" / "migrations" / "0001_initial.py"
        text = initial.read_text().replace(
            "from django.db import migrations, models\n",
            "from django.conf import settings\nfrom django.db import migrations, models\n",
            1,
        )
        swappable = "dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]"
        initial.write_text(text.replace("dependencies = []", swappable, 1))
    for app in apps:  # the model `schemaops backfill` resolves its target with
        (root / app / "models.py").write_text(MODELS)
    if "varchar_widen_checked" in cases:
        initial = root / "c_varchar_widen_checked" / "migrations" / "0001_initial.py"
        options = '], options={"indexes": ['
        check = 'models.CheckConstraint(condition=~models.Q(code=""), name="code_set")'
        assert options in initial.read_text()
        initial.write_text(
            initial.read_text().replace(
                options, f'], options={{"constraints": [{check}], "indexes": ['
            )
        )
    for case, after in AUTO_KEY.items():
        if case not in cases:
            continue
        initial = root / f"c_{case}" / "migrations" / "0001_initial.py"
        big = f'("id", models.BigAutoField(primary_key=True)),\n            {after}'
        small = f'("id", models.AutoField(primary_key=True)),\n            {after}'
        assert big in initial.read_text()
        initial.write_text(initial.read_text().replace(big, small))
    return apps


def _between_phases(out: dict[str, Any]) -> None:
    """What the deploy does between the phases: users exist (what c_repoint_user's rows
    will reference), then every backfill ``fix`` printed runs."""
    conn = psycopg2.connect(**{**PG, "dbname": out["db"]})
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO auth_user (id, password, is_superuser, username, first_name, "
                "last_name, email, is_staff, is_active, date_joined) SELECT g, '', false, "
                "'u' || g, '', '', '', false, true, now() FROM generate_series(1, 10) g"
            )
    finally:
        conn.close()
    _backfill(out)


def _backfill(out: dict[str, Any]) -> None:
    """Run every backfill command ``fix`` printed, exactly as printed."""
    commands = [
        line.split("`--phase post`: ", 1)[1]
        for line in out["fix_output"].splitlines()
        if "before `--phase post`" in line
    ]
    out["backfills"] = []
    for command in commands:
        args = shlex.split(command)
        assert args[:3] == ["schemaops", "backfill", "start"]
        done = schemaops(out["root"], out["db"], *args[1:])
        assert done.returncode == 0, command + "\n" + done.stdout + done.stderr
        out["backfills"].append((command, _unfilled(out, command)))


def _unfilled(out: dict[str, Any], command: str) -> int:
    """Rows the backfill's --where still matches (0 once it has run)."""
    args = shlex.split(command)
    where = args[args.index("--where") + 1]
    app, model = args[3].split(".")
    table = f"{app}_{model.lower()}"
    script = (
        "import django; django.setup(); from django.db import connection\n"
        "with connection.cursor() as c:\n"
        f"    c.execute('SELECT count(*) FROM {table} WHERE {where}')\n"
        "    print(c.fetchone()[0])"
    )
    done = run(out["root"], out["db"], "-c", script)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


@pytest.fixture(scope="module")
def proof(tmp_path_factory: pytest.TempPathFactory, proof_databases: tuple[str, str]) -> Any:
    root = tmp_path_factory.mktemp("retype")
    apps = _write(root, CASES)
    ref, db = proof_databases
    before = schemaops(root, ref, "check", "--format", "json")
    assert before.returncode in (0, 1), before.stderr
    out = prove(root, apps, ref, db, fill=FILL, between=_between_phases)
    out["before"] = json.loads(before.stdout)
    return out


@pytest.mark.parametrize("case", PROVEN)
def test_the_remedy_is_proven(proof: Any, case: str) -> None:
    assert_proven(proof, f"c_{case}")


@pytest.mark.parametrize("case", PROVEN)
def test_check_showed_the_planners_remedy(proof: Any, case: str) -> None:
    app = f"c_{case}"
    findings = [
        f
        for f in proof["before"]["findings"]
        if f["app"] == app and f["migration"] == "0002_unsafe"
    ]
    assert findings, "the original is flagged"
    keys = {f.get("remedy") for f in findings if f["severity"] != "info"}
    assert len(keys) == 1 and None not in keys, findings
    assert proof["before"]["remedies"][keys.pop()]["kind"] == CASES[case][1]


SHADOW = [c for c in PROVEN if CASES[c][1] == "shadow-column-swap"]
INDEXED = ("pk_widen", "int_bigint_indexed", "int_bigint_unique", "collation_indexed")


@pytest.mark.parametrize("case", SHADOW)
def test_shadow_column_files(proof: Any, case: str) -> None:
    files = proof["files"][f"c_{case}"]
    pre = "\n".join(t for n, t in files.items() if "_post" not in n and n != "0001_initial")
    post = "\n".join(t for n, t in files.items() if "_post" in n)
    assert "BEFORE INSERT OR UPDATE" in pre and "lock_timeout" in pre
    if case in INDEXED:
        assert "CREATE UNIQUE INDEX CONCURRENTLY" in pre or "CREATE INDEX CONCURRENTLY" in pre
        assert "atomic = False" in pre
    assert "ALTER COLUMN" not in pre.replace("ALTER COLUMN IF", "")
    assert " TYPE " not in pre + post.split("reverse_sql")[0]
    assert 'deploy_phase = "post"' in post and "RENAME COLUMN" in post and "lock_timeout" in post
    swap = next(t for t in files.values() if "state_operations" in t)
    assert "AlterField" in swap and 'deploy_phase = "post"' in swap


@pytest.mark.parametrize("case", SHADOW)
def test_the_printed_backfill_ran_and_filled_every_row(proof: Any, case: str) -> None:
    mine = [(c, left) for c, left in proof["backfills"] if f" c_{case}." in c]
    assert len(mine) == 1, proof["fix_output"]
    assert mine[0][1] == 0


def test_the_widened_key_keeps_counting(proof: Any) -> None:
    """After the swap the key is bigint, the primary key, and inserts continue the sequence."""
    script = (
        "import django; django.setup(); from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    c.execute(\"INSERT INTO c_pk_widen_item (name, legacy) VALUES ('new', 'x') "
        'RETURNING id")\n'
        "    print(c.fetchone()[0])\n"
        '    c.execute("SELECT data_type FROM information_schema.columns WHERE '
        "table_name = 'c_pk_widen_item' AND column_name = 'id'\")\n"
        "    print(c.fetchone()[0])"
    )
    schemaops(proof["root"], proof["db"], "migrate")
    done = run(proof["root"], proof["db"], "-c", script)
    assert done.returncode == 0, done.stderr
    new_id, data_type = done.stdout.split()
    assert int(new_id) > 300 and data_type == "bigint"


@pytest.fixture(scope="module")
def unplanned(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``check`` then ``fix`` on the cases the planner writes no code for."""
    root = tmp_path_factory.mktemp("retype_unplanned")
    apps = _write(root, UNPLANNED)
    db = f"schemaops_retype_{uuid.uuid4().hex[:8]}_none"
    create_database(db)
    try:
        migrate(root, db, *(f"{app}:0001_initial" for app in apps))
        before = schemaops(root, db, "check", "--format", "json")
        assert before.returncode in (0, 1), before.stderr
        fixed = schemaops(root, db, "fix")
        assert fixed.returncode == 0, fixed.stderr
        files = {
            app: sorted(p.name for p in (root / app / "migrations").glob("0*.py")) for app in apps
        }
        unsafe = {app: (root / app / "migrations" / "0002_unsafe.py").read_text() for app in apps}
        yield {"before": json.loads(before.stdout), "files": files, "unsafe": unsafe}
    finally:
        drop_database(db)


def test_a_referenced_primary_key_gets_no_code_but_says_what_to_do(unplanned: Any) -> None:
    app = "c_pk_widen_referenced"
    assert unplanned["files"][app] == ["0001_initial.py", "0002_unsafe.py"]
    assert "SeparateDatabaseAndState" not in unplanned["unsafe"][app]
    findings = [f for f in unplanned["before"]["findings"] if f["app"] == app]
    assert any(f["code"] == "SO206" and f["severity"] == "error" for f in findings), findings
    rewrite = next(f for f in findings if f["code"] == "SO206")
    remedy = unplanned["before"]["remedies"][rewrite["remedy"]]
    assert remedy["kind"] == "advice" and remedy["files"] == []
    assert "c_pk_widen_referenced.Item.ref" in remedy["summary"]
    assert "writes nothing" in rewrite["recipe"]


def test_a_binary_coercible_change_is_left_alone(unplanned: Any) -> None:
    app = "c_varchar_text"
    findings = unplanned["before"]["findings"]
    assert [f for f in findings if f["app"] == app and f["severity"] == "error"] == []
    assert unplanned["files"][app] == ["0001_initial.py", "0002_unsafe.py"]


def _statements(operation: Any) -> list[str]:
    """The forward SQL of a remedy step's operation (RunSQL, maybe inside a
    SeparateDatabaseAndState)."""
    from django.db import migrations

    if isinstance(operation, migrations.SeparateDatabaseAndState):
        return [s for inner in operation.database_operations for s in _statements(inner)]
    if isinstance(operation, migrations.RunSQL):
        return [str(s) for s in operation.sql]
    return []


def test_a_serial_key_from_older_django_moves_its_sequence(scratch_db: dict[str, str]) -> None:
    """Tables created before Django 4.1 have a serial key (a sequence the column owns and a
    nextval() default), not an identity: the same swap widens and re-owns the sequence."""
    import psycopg2
    from django.db import migrations, models
    from django.db.migrations.state import ProjectState

    from schemaops.remedy.planner import plan_operation

    state = ProjectState()
    migrations.CreateModel(
        "Order",
        [("id", models.AutoField(primary_key=True)), ("note", models.TextField(null=True))],
    ).state_forwards("shop", state)
    op = migrations.AlterField("order", "id", models.BigAutoField(primary_key=True))
    remedy = plan_operation(op, "shop", state)
    assert remedy is not None and remedy.kind == "shadow-column-swap"
    conn = psycopg2.connect(**scratch_db)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE shop_order (id serial PRIMARY KEY, note text)")
            cur.execute("INSERT INTO shop_order (note) SELECT 'n' FROM generate_series(1, 50)")
            for step in remedy.steps:
                if step.atomic:
                    cur.execute("BEGIN")
                for operation in step.operations:
                    for statement in _statements(operation):
                        cur.execute(statement)
                    if step.role == "expand":  # the old code inserts during the deploy
                        cur.execute("INSERT INTO shop_order (note) VALUES ('old code')")
                if step.atomic:
                    cur.execute("COMMIT")
            cur.execute("INSERT INTO shop_order (note) VALUES ('new code') RETURNING id")
            assert cur.fetchone()[0] == 52
            cur.execute(
                "SELECT data_type, column_default FROM information_schema.columns "
                "WHERE table_name = 'shop_order' AND column_name = 'id'"
            )
            assert cur.fetchone() == ("bigint", "nextval('shop_order_id_seq'::regclass)")
            cur.execute(
                "SELECT data_type FROM pg_sequences WHERE sequencename = 'shop_order_id_seq'"
            )
            assert cur.fetchone()[0] == "bigint"
            cur.execute("SELECT pg_get_serial_sequence('shop_order', 'id')")
            assert cur.fetchone()[0] == "public.shop_order_id_seq"
            key = "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s"
            cur.execute(key, ("shop_order_pkey",))
            assert cur.fetchone()[0] == "PRIMARY KEY (id)"
            cur.execute("SELECT count(*), count(DISTINCT id) FROM shop_order")
            assert cur.fetchone() == (52, 52)
    finally:
        conn.close()


@pytest.mark.parametrize(("case", "target"), [("repoint_narrower", "item"), ("repoint_user", "")])
def test_a_repointed_foreign_key_narrows_online_and_moves_its_constraint(
    proof: Any, case: str, target: str
) -> None:
    """Django narrows the column to the new target's key type (integer): the remedy ends
    with the same type, the constraint on the new target added NOT VALID, then validated."""
    app = f"c_{case}"
    table = f"{app}_{target}" if target else "auth_user"
    written = "\n".join(t for n, t in proof["files"][app].items() if n != "0001_initial")
    assert f"ALTER TABLE {app}_item ADD COLUMN ref_id_new integer NULL" in written
    new_fk = f"FOREIGN KEY (ref_id) REFERENCES {table} (id) DEFERRABLE INITIALLY DEFERRED"
    assert f"{new_fk} NOT VALID" in written and "VALIDATE CONSTRAINT" in written
    for schema in (proof["fixed"][app], proof["reference"][app]):
        types = {c[1]: c[2] for c in schema["columns"] if c[0] == f"{app}_item"}
        assert types["ref_id"] == "integer"
    assert proof["reversed"][app] == proof["initial"][app]
