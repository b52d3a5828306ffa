"""How many of the remedies schemaops shows are correct and paste-ready: a sampled figure.

    python bench/remedy_sample.py [-n 100] [--seed 1] [--gen-apps 3 --gen-migrations 14]

Issue #12 wants ">= 95% of sampled remedies correct and paste-ready". This
builds three projects full of unsafe operations:

* ``sample``: the demo shop (``sample_project/``), as it is;
* ``gen``: the synthetic history of ``bench/gen_project.py`` (AddField,
  AlterField, AddIndex, RemoveIndex, RenameField, RemoveField, RunSQL, ...);
* ``shapes``: a fixed, hypothesis-free list of real-world shapes, one app each
  (:data:`SHAPES`): many-to-many fields, multi-table inheritance, a foreign key
  to the swappable user model, UUID / JSON / array fields, unique fields,
  renames, RunSQL;

then asks ``schemaops check`` for the remedy of every finding group (one per
operation, as ``check`` plans them), samples N of them (``--seed``), writes the
sampled migrations' remedies with ``schemaops fix APP MIGRATION`` and proves
each remedy as tests/remedy does:

(a) ``schemaops check`` reports no error on the files written for it;
(b) the project applies with ``schemaops migrate --phase pre`` then
    ``--phase post`` on an empty database, and the migration reverses
    (``migrate APP <its parent>``) unless the history before it is irreversible;
(c) under ``schemaops trace --rows 200`` (seeded tables), none of its files
    holds a lock that blocks writes past the 250 ms budget, nor builds an index
    or validates a constraint under such a lock;
(d) the final schema (index names aside) and project state of its app equal
    the original migrations' (for a rename kept with ``db_column``/``db_table``:
    the same schema under the kept names, and the state differs only by them).

A remedy that is "not paste-ready" fails one of these. Each project is proven in
one batch (the realistic case: ``fix`` on a project, then deploy), so a failure
of (b) or (d) is charged to the sampled remedies of the app it concerns.
Prints a table (kind, count, passed), the overall percent and every failure with
its reason. Needs the PostgreSQL of .ci/setup (127.0.0.1:5432, user postgres);
scratch databases ``schemaops_rsample_*`` are created and dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "bench"), str(REPO / "tests"), str(REPO / "tests" / "remedy")]

import gen_project  # noqa: E402
import proof_project  # noqa: E402
from proof_support import STATE_SCRIPT, scans_under_lock, schema  # noqa: E402
from support import create_database, drop_database  # noqa: E402

from schemaops.remedy.verify import blocking_holds  # noqa: E402

ROWS = 200
KEEP_NAME = "keep-database-name"

# what the shapes' apps hold beyond tests/remedy's plain project: a Label for a
# many-to-many field, UUID / JSON / array fields on Item, a multi-table child Special
SHAPES_ADDITIONS = proof_project.Additions(
    installed_apps=("django.contrib.postgres",),
    initial_imports="import django.contrib.postgres.fields\n",
    unsafe_imports="import django.contrib.postgres.indexes\n",
    before_item="""
        migrations.CreateModel("Label", [
            ("id", models.BigAutoField(primary_key=True)),
            ("text", models.CharField(max_length=20, null=True)),
        ]),""",
    item_fields="""
            ("uid", models.UUIDField(null=True)),
            ("data", models.JSONField(null=True)),
            ("tags", django.contrib.postgres.fields.ArrayField(
                models.CharField(max_length=10), null=True)),
            ("labels", models.ManyToManyField("label")),""",
    after_item="""
        migrations.CreateModel("Special", [
            ("item_ptr", models.OneToOneField(auto_created=True, on_delete=models.CASCADE,
                parent_link=True, primary_key=True, serialize=False, to="%(app)s.item")),
            ("grade", models.IntegerField(null=True)),
        ], bases=("%(app)s.item",)),""",
)

# name -> one unsafe operation, in an app of its own (%(app)s is the app label)
SHAPES: dict[str, str] = {
    "json_gin_index": 'migrations.AddIndex("item", django.contrib.postgres.indexes.GinIndex('
    'fields=["data"], name="%(app)s_data_gin"))',
    "array_gin_index": 'migrations.AddIndex("item", django.contrib.postgres.indexes.GinIndex('
    'fields=["tags"], name="%(app)s_tags_gin"))',
    "uuid_unique": 'migrations.AlterField("item", "uid", models.UUIDField(null=True, unique=True))',
    "fk_user": 'migrations.AddField("item", "owner", models.ForeignKey('
    "settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE))",
    "fk_set_not_null": 'migrations.AlterField("item", "ref", models.ForeignKey("parent", '
    "on_delete=models.CASCADE))",
    "child_indexed_field": 'migrations.AddField("special", "rank", models.IntegerField('
    "null=True, db_index=True))",
    "child_fk": 'migrations.AddField("special", "sponsor", models.ForeignKey("parent", '
    "null=True, on_delete=models.CASCADE))",
    "remove_m2m": 'migrations.RemoveField("item", "labels")',
    "rename_json_field": 'migrations.RenameField("item", "data", "payload")',
    "rename_fk_field": 'migrations.RenameField("item", "ref", "parent")',
    "rename_model": 'migrations.RenameModel("parent", "Owner")',
    "db_column": 'migrations.AlterField("item", "code", models.CharField(max_length=20, '
    'null=True, db_column="item_code"))',
    "runsql_index": 'migrations.RunSQL("CREATE INDEX %(app)s_n_idx ON %(app)s_item (name)", '
    'reverse_sql="DROP INDEX %(app)s_n_idx")',
    "runsql_fk": 'migrations.RunSQL("ALTER TABLE %(app)s_item ADD CONSTRAINT %(app)s_fk '
    'FOREIGN KEY (ref_id) REFERENCES %(app)s_parent (id)", reverse_sql="ALTER TABLE '
    '%(app)s_item DROP CONSTRAINT %(app)s_fk")',
    "runsql_check": 'migrations.RunSQL("ALTER TABLE %(app)s_item ADD CONSTRAINT %(app)s_pos '
    'CHECK (qty >= 0)", reverse_sql="ALTER TABLE %(app)s_item DROP CONSTRAINT %(app)s_pos")',
    "check_constraint": 'migrations.AddConstraint("item", models.CheckConstraint('
    'condition=models.Q(qty__gte=0), name="%(app)s_qty_pos"))',
    "unique_together": 'migrations.AlterUniqueTogether("item", {("code", "name")})',
    "positive_int": 'migrations.AlterField("item", "qty", models.PositiveIntegerField(null=True))',
    "not_null_default": 'migrations.AddField("item", "status", models.CharField('
    'max_length=10, default="new"))',
    "delete_model": 'migrations.DeleteModel("extra")',
    "remove_not_null": 'migrations.RemoveField("item", "legacy")',
    "conditional_unique": 'migrations.AddConstraint("item", models.UniqueConstraint('
    'fields=["code"], condition=models.Q(qty__gt=0), name="%(app)s_code_pos"))',
    "indexed_char_field": 'migrations.AddField("item", "sku", models.CharField('
    "max_length=30, null=True, db_index=True))",
    "remove_index": 'migrations.RemoveIndex("item", "%(app)s_qty_idx")',
    "unique_field": 'migrations.AddField("item", "serial", models.CharField(max_length=30, '
    "null=True, unique=True))",
}


@dataclass
class Project:
    """A source project: its folder, the settings module and the env var naming its DB."""

    name: str
    root: Path
    settings: str
    db_env: str
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, db: str) -> dict[str, str]:
        env = {**os.environ, **self.extra_env, self.db_env: db, "PYTHONPATH": str(self.root)}
        env["DJANGO_SETTINGS_MODULE"] = self.settings
        return env

    def run(self, db: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.root,
            env=self.env(db),
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )

    def schemaops(self, db: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(db, "-m", "schemaops", *args)


@dataclass
class Group:
    """One sampled remedy: the operation ``app.migration#index`` and what ``check`` planned."""

    project: str
    app: str
    migration: str
    index: int
    kind: str
    failures: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.project}:{self.app}.{self.migration}#{self.index}"


def build_sample(out: Path) -> Project:
    root = out / "sample"
    shutil.copytree(REPO / "sample_project", root, ignore=shutil.ignore_patterns("__pycache__"))
    return Project("sample", root, "shop.settings", "SHOP_DB_NAME")


def build_gen(out: Path, apps: int, migrations: int) -> Project:
    root = out / "gen"
    gen_project.generate(root, apps, migrations)
    (root / "pyproject.toml").write_text(
        '[tool.schemaops]\nsettings = "benchproj.settings"\nassume-timeouts = true\n'
    )
    return Project("gen", root, "benchproj.settings", "BENCH_DB")


def build_shapes(out: Path) -> Project:
    root = out / "shapes"
    operations = {f"s_{name}": operation for name, operation in SHAPES.items()}
    proof_project.write_apps(root, operations, additions=SHAPES_ADDITIONS)
    return Project("shapes", root, "proofproj.settings", "PROOF_DB_NAME")


def scratch_db() -> str:
    name = f"schemaops_rsample_{uuid.uuid4().hex[:10]}"
    create_database(name)
    return name


def groups_of(project: Project, db: str) -> list[Group]:
    """Every operation ``check`` planned a remedy for, with the remedy's kind (one check
    per app, as a team gates one app's new migrations)."""
    apps = sorted(p.parent.parent.name for p in project.root.glob("*/migrations/__init__.py"))
    remedies: dict[str, Any] = {}
    for app in apps:
        done = project.schemaops(db, "check", app, "--format", "json")
        if done.returncode not in (0, 1):
            raise SystemExit(f"check on {project.name}: {done.stderr.strip()[-500:]}")
        remedies.update(json.loads(done.stdout).get("remedies", {}))
    out = []
    for key, remedy in sorted(remedies.items()):
        where, index = key.rsplit("#", 1)
        app, migration = where.split(".", 1)
        out.append(Group(project.name, app, migration, int(index), remedy["kind"]))
    return out


def prove_batch(project: Project, groups: list[Group]) -> None:
    """Write the groups' remedies with ``fix`` and charge every failure of (a)-(d) to them."""
    original = project.root.with_name(project.root.name + "_original")
    shutil.copytree(project.root, original)
    orig = Project(project.name, original, project.settings, project.db_env, project.extra_env)
    dbs = [scratch_db() for _ in range(4)]
    fix_db, trace_db, apply_db, ref_db = dbs
    try:
        for app, migration in sorted({(g.app, g.migration) for g in groups}):
            fixed = project.schemaops(fix_db, "fix", app, migration)
            if fixed.returncode != 0:
                for g in groups:
                    if (g.app, g.migration) == (app, migration):
                        g.failures.append(f"fix: {fixed.stderr.strip()[-300:]}")
        refused = _check(project, fix_db, groups)
        _trace(project, trace_db, groups)
        _apply_and_compare(project, orig, apply_db, ref_db, groups, refused)
    finally:
        for db in dbs:
            drop_database(db)


def _files_of(g: Group, migration: str) -> bool:
    """Is ``migration`` one of the files ``fix`` wrote for the group's migration?"""
    return migration == g.migration or migration.startswith(f"{g.migration}_")


def _check(project: Project, db: str, groups: list[Group]) -> set[str]:
    """(a), and every ``app.migration`` with an error (``migrate`` must be told to allow
    them: the operations not sampled keep theirs, and a failed remedy is still applied)."""
    done = project.schemaops(db, "check", "--format", "json")
    if done.returncode not in (0, 1):
        for g in groups:
            g.failures.append(f"(a) check failed: {done.stderr.strip()[-200:]}")
        return set()
    refused = set()
    for finding in json.loads(done.stdout)["findings"]:
        if finding["severity"] != "error" or finding.get("suppressed"):
            continue
        if finding["app"] and finding["migration"]:
            refused.add(f"{finding['app']}.{finding['migration']}")
        for g in groups:
            if finding["app"] == g.app and _files_of(g, finding["migration"] or ""):
                g.failures.append(
                    f"(a) {finding['code']} {finding['migration']}: {finding['message'][:120]}"
                )
    return refused


def _trace(project: Project, db: str, groups: list[Group]) -> None:
    """(c), one app at a time (a failure stays with the app it is about)."""
    for app in sorted({g.app for g in groups}):
        _trace_app(project, db, app, [g for g in groups if g.app == app])


def _trace_app(project: Project, db: str, app: str, groups: list[Group]) -> None:
    done = project.schemaops(db, "trace", app, "--rows", str(ROWS), "--format", "json", "-q")
    if done.returncode != 0 and not done.stdout.strip().startswith("{"):
        for g in groups:
            g.failures.append(f"(c) trace failed: {(done.stderr or done.stdout).strip()[-200:]}")
        return
    trace = json.loads(done.stdout)
    for g in groups:
        mine = [
            m for m in trace["migrations"] if m["app"] == g.app and _files_of(g, m["migration"])
        ]
        if not mine:
            g.failures.append("(c) none of its files was traced")
        for m in mine:
            if m.get("error"):
                g.failures.append(f"(b) {m['migration']} failed under trace: {m['error'][:150]}")
        holds = blocking_holds({"migrations": mine})
        scans = scans_under_lock({"migrations": mine}, g.app)
        g.failures += [f"(c) {h}" for h in holds] + [f"(c) scan under lock: {s}" for s in scans]


def _apply_and_compare(
    project: Project, orig: Project, db: str, ref: str, groups: list[Group], refused: set[str]
) -> None:
    for phase in ("pre", "post"):
        for app in sorted({g.app for g in groups}):  # a failure stays with its app
            done = _migrate(project, db, app, phase, {n for n in refused if n.startswith(app)})
            if done.returncode != 0:
                reason = (done.stderr or done.stdout).strip()[-200:]
                for g in groups:
                    if g.app == app:
                        g.failures.append(f"(b) migrate {app} --phase {phase}: {reason}")
    done = orig.run(ref, "-m", "django", "migrate", "-v", "0")
    if done.returncode != 0:
        raise SystemExit(f"the original {project.name} does not migrate: {done.stderr[-300:]}")
    fixed_state, original_state = _state(project, db), _state(orig, ref)
    for g in groups:
        _compare(g, schema(db, f"{g.app}_"), schema(ref, f"{g.app}_"), fixed_state, original_state)
    # reverse each sampled migration, latest first (one migration back leaves the others be)
    for g in sorted(groups, key=lambda g: (g.app, g.migration), reverse=True):
        parent = _parent(orig, ref, g)
        if parent is None:
            continue
        done = project.run(db, "-c", REVERSE_SCRIPT, g.app, parent)
        if done.returncode != 0 and "Irreversible" not in done.stderr:
            g.failures.append(f"(b) reverse to {parent}: {done.stderr.strip()[-200:]}")


# back to exactly (app, name): `migrate app 0016_step` is ambiguous beside 0016_step_post
REVERSE_SCRIPT = """
import sys, django
django.setup()
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
app, name = sys.argv[1:3]
executor = MigrationExecutor(connection)
target = [(app, None if name == "zero" else name)]
executor.migrate(target, plan=executor.migration_plan(target))
"""


def _migrate(
    project: Project, db: str, app: str, phase: str, allow: set[str]
) -> subprocess.CompletedProcess[str]:
    """``schemaops migrate APP --phase PHASE``, allowing the migrations ``check`` refuses
    (operations not sampled keep their errors; a sampled remedy's are charged in (a))."""
    allow = set(allow)
    for _ in range(50):
        args = [arg for name in sorted(allow) for arg in ("--allow", name)]
        done = project.schemaops(db, "migrate", app, "--phase", phase, *args)
        text = done.stderr + done.stdout
        if "--allow names a migration that is not planned: " in text:
            allow.discard(text.split("not planned: ", 1)[1].split()[0])
        elif "refusing to apply " in text:
            allow.add(text.split("refusing to apply ", 1)[1].split(":")[0])
        else:
            return done
    return done


def _state(project: Project, db: str) -> dict[str, str]:
    done = project.run(db, "-c", STATE_SCRIPT)
    if done.returncode != 0:
        raise SystemExit(f"state of {project.name}: {done.stderr[-300:]}")
    return dict(json.loads(done.stdout))


def _compare(
    g: Group,
    fixed: dict[str, Any],
    reference: dict[str, Any],
    fixed_state: dict[str, str],
    original_state: dict[str, str],
) -> None:
    mine = {k: v for k, v in fixed_state.items() if k.startswith(f"{g.app}.")}
    theirs = {k: v for k, v in original_state.items() if k.startswith(f"{g.app}.")}
    if KEEP_NAME in g.kind:
        # the database keeps the old names: the same columns and objects, names aside
        if _shape(fixed) != _shape(reference):
            g.failures.append("(d) schema differs beyond the kept names")
        changed = {k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k)}
        if not all(
            "db_column" in mine.get(k, "") or "db_table" in mine.get(k, "") for k in changed
        ):
            g.failures.append(f"(d) state differs beyond db_column/db_table: {sorted(changed)}")
        return
    if fixed != reference:
        diff = [k for k in fixed if fixed[k] != reference.get(k)]
        g.failures.append(f"(d) schema of {g.app} differs from the original's ({', '.join(diff)})")
    if mine != theirs:
        models = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
        g.failures.append(f"(d) state differs: {models}")


def _shape(s: dict[str, Any]) -> tuple[Any, ...]:
    columns = sorted(tuple(c[2:]) for c in s["columns"])
    constraints = sorted((c[1], c[3]) for c in s["constraints"])
    return columns, constraints, len(s["indexes"])


def _parent(project: Project, db: str, g: Group) -> str | None:
    """The migration of the same app the sampled one depends on (None: its first)."""
    script = (
        "import django, sys; django.setup()\n"
        "from django.db.migrations.loader import MigrationLoader\n"
        "m = MigrationLoader(None, ignore_no_migrations=True).graph.nodes[(sys.argv[1], "
        "sys.argv[2])]\n"
        "print(next((n for a, n in m.dependencies if a == sys.argv[1]), 'zero'))\n"
    )
    done = project.run(db, "-c", script, g.app, g.migration)
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="remedies to sample (default 100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--gen-apps", type=int, default=6)
    parser.add_argument("--gen-migrations", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the projects (printed)")
    args = parser.parse_args()

    out = Path(tempfile.mkdtemp(prefix="remedy_sample_"))
    projects = [
        build_shapes(out),
        build_sample(out),
        build_gen(out, args.gen_apps, args.gen_migrations),
    ]
    db = scratch_db()
    try:
        population = [g for p in projects for g in groups_of(p, db)]
    finally:
        drop_database(db)
    sample = random.Random(args.seed).sample(population, min(args.n, len(population)))
    print(
        f"{len(population)} remedies planned across {len(projects)} projects; sampled "
        f"{len(sample)} (seed {args.seed})",
        flush=True,
    )
    by_project: dict[str, list[Group]] = defaultdict(list)
    for g in sample:
        by_project[g.project].append(g)
    for p in projects:
        if by_project[p.name]:
            print(f"proving {len(by_project[p.name])} remedies of {p.name} ...", flush=True)
            prove_batch(p, by_project[p.name])
    report(sample)
    if args.keep:
        print(f"projects kept in {out}")
    else:
        shutil.rmtree(out, ignore_errors=True)
    return 0


def report(sample: list[Group]) -> None:
    kinds: dict[str, list[Group]] = defaultdict(list)
    for g in sample:
        kinds[g.kind].append(g)
    width = max([len(k) for k in kinds] + [4])
    print(f"\n{'kind':<{width}}  count  passed")
    for kind, gs in sorted(kinds.items()):
        print(f"{kind:<{width}}  {len(gs):>5}  {sum(not g.failures for g in gs):>6}")
    passed = sum(not g.failures for g in sample)
    percent = 100.0 * passed / len(sample) if sample else 0.0
    print(f"{'total':<{width}}  {len(sample):>5}  {passed:>6}  ({percent:.1f}% correct)")
    failed = [g for g in sample if g.failures]
    if failed:
        print("\nfailures:")
        for g in failed:
            print(f"  {g.key} [{g.kind}]")
            for reason in dict.fromkeys(g.failures):
                print(f"    {reason}")


if __name__ == "__main__":
    raise SystemExit(main())
