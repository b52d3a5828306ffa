"""What ``schemaops trace`` costs per statement: the same ALTERs run plainly and traced.

    .venv/bin/python bench/trace_bench.py                    # 200 statements, 50 other tables
    .venv/bin/python bench/trace_bench.py --tables 2000      # a bigger catalog to snapshot
    .venv/bin/python bench/trace_bench.py --compat 100       # trace --compat on 100 models

With ``--compat N``: a project of N models in groups of ten (each with a
foreign key to its group's first model, as an app's tables point at its main
one) gets a pre-deploy migration that
adds a nullable column to every model and removes another one from the state
only, and a post-deploy one that drops that column;
``schemaops trace --compat`` replays it, and the same migrations are applied
plainly with Django's executor on a database of their own (the reference).
Printed: the replay's wall time, what applying the migrations cost inside it,
and the replay's own cost per model per phase.

On a database of its own on the local server (PGHOST etc., default
127.0.0.1:5432 as postgres; created, then dropped): ``--statements`` times
``ALTER TABLE t ADD COLUMN`` in one transaction, once through Django plainly
and once with schemaops' StatementRecorder installed (pg_locks before and
after each statement, a catalog snapshot after it), and prints both and the
overhead per statement. The snapshot reads every user table's columns and
constraints, so the overhead grows with the catalog (``--tables``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))
from _pg import SERVER as PG  # noqa: E402
from _pg import admin  # noqa: E402


def setup(params: dict[str, str], tables: int) -> None:
    conn = psycopg2.connect(**params)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE t (id bigint PRIMARY KEY)")
        for i in range(tables):
            cur.execute(
                sql.SQL("CREATE TABLE {} (id bigint PRIMARY KEY, a int, b text)").format(
                    sql.Identifier(f"other_{i}")
                )
            )
    conn.close()


def run(params: dict[str, str], statements: list[str], traced: bool) -> float:
    from django.db import transaction

    from schemaops.trace.runner import pointed_at
    from schemaops.trace.tracer import StatementRecorder

    with pointed_at("default", params) as conn:
        recorder = StatementRecorder(conn, params)
        recorder.start()
        started = time.perf_counter()
        wrapper = conn.execute_wrapper(recorder) if traced else _nothing()
        with wrapper, transaction.atomic(), conn.cursor() as cur:
            for stmt in statements:
                cur.execute(stmt)
            transaction.set_rollback(True)
        elapsed = time.perf_counter() - started
        if traced:
            assert len(recorder.statements) == len(statements)
        return elapsed


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def compat_migrations(models: int) -> list[Any]:
    """0001 creates ``models`` models, 0002 (pre) adds a column to each and removes one
    from the state only, 0003 (post) drops that column."""
    from django.db import migrations
    from django.db import models as m

    def make(name: str, operations: list[Any], deps: list[Any], phase: str = "pre") -> Any:
        attrs = {"operations": operations, "dependencies": deps, "deploy_phase": phase}
        return type("Migration", (migrations.Migration,), attrs)(name, "bench")

    created = []
    for i in range(models):
        fields: list[Any] = [
            ("id", m.BigAutoField(primary_key=True)),
            ("name", m.CharField(max_length=40, unique=True)),
            ("qty", m.SmallIntegerField(default=0)),
            ("legacy", m.TextField(null=True)),
        ]
        if i % 10:
            owner = f"bench.M{i - i % 10}"
            fields.append(("owner", m.ForeignKey(owner, on_delete=m.CASCADE)))
        created.append(migrations.CreateModel(f"M{i}", fields))
    expand = [migrations.AddField(f"m{i}", "note", m.TextField(null=True)) for i in range(models)]
    expand += [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(f"m{i}", "legacy") for i in range(models)]
        )
    ]
    drops = "; ".join(f"ALTER TABLE bench_m{i} DROP COLUMN legacy" for i in range(models))
    return [
        make("0001_initial", created, []),
        make("0002_expand", expand, [("bench", "0001_initial")]),
        make("0003_contract", [migrations.RunSQL(drops)], [("bench", "0002_expand")], "post"),
    ]


def memory_loader(found: list[Any]) -> Any:
    """A real MigrationLoader whose graph holds ``found`` instead of migration files."""
    from django.db import connections
    from django.db.migrations.graph import MigrationGraph
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connections["default"], load=False)
    loader.graph = MigrationGraph()
    for mig in found:
        loader.graph.add_node((mig.app_label, mig.name), mig)
    for mig in found:
        for dep in mig.dependencies:
            loader.graph.add_dependency(mig, (mig.app_label, mig.name), dep)
    loader.applied_migrations, loader.replacements = {}, {}
    loader.unmigrated_apps, loader.migrated_apps = set(), {"bench"}
    return loader


def plain_apply(found: list[Any]) -> float:
    """Seconds Django's executor takes for the same migrations on a fresh database."""
    from django.db.migrations.executor import MigrationExecutor

    from schemaops.trace.runner import pointed_at
    from schemaops.trace.scratch import ScratchDatabase

    with ScratchDatabase(PG) as scratch, pointed_at("default", scratch.params) as conn:
        executor = MigrationExecutor(conn)
        executor.loader = memory_loader(found)
        plan = executor.migration_plan([("bench", "0003_contract")])
        started = time.perf_counter()
        executor.migrate([], plan=plan)
        return time.perf_counter() - started


def compat(models: int) -> None:
    from schemaops.trace.compat import CompatOptions, run_compat

    found = compat_migrations(models)
    selected = {("bench", "0002_expand"), ("bench", "0003_contract")}
    plain = plain_apply(found)
    started = time.perf_counter()
    result = run_compat(selected, CompatOptions(server=dict(PG)), loader=memory_loader(found))
    wall = time.perf_counter() - started
    assert not result.breaks and result.error is None, result.to_dict()
    apply_ms = sum(p.apply_ms for p in result.phases)
    replay_ms = sum(p.replay_ms for p in result.phases)
    runs = sum(p.models for p in result.phases)
    print(f"plain migrate (Django's executor, all 3 migrations): {plain * 1000:.0f} ms")
    print(
        f"trace --compat on {models} models: {wall * 1000:.0f} ms wall "
        f"(scratch database, 0001 applied, seeding, phases)"
    )
    for p in result.phases:
        per = p.replay_ms / p.models if p.models else 0.0
        print(
            f"  {p.name:<18} apply {p.apply_ms:7.0f} ms  replay {p.replay_ms:7.0f} ms "
            f"on {p.models:4d} model run(s) = {per:5.2f} ms per model ({p.statements} statements)"
        )
    print(
        f"replay on top of applying: {replay_ms:.0f} ms for {runs} model runs = "
        f"{replay_ms / max(runs, 1):.2f} ms per model per phase (target <= 20); "
        f"applying inside the replay {apply_ms:.0f} ms; wall {wall:.1f} s (target < 10 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=200)
    parser.add_argument("--tables", type=int, default=50)
    parser.add_argument("--compat", type=int, metavar="MODELS", help="bench trace --compat")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    sys.path.insert(0, str(ROOT / "sample_project"))
    import django

    django.setup()
    if args.compat:
        compat(args.compat)
        return
    name = f"schemaops_bench_{uuid.uuid4().hex[:8]}"
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = {**PG, "dbname": name}
    try:
        setup(params, args.tables)
        statements = [f"ALTER TABLE t ADD COLUMN c{i} int" for i in range(args.statements)]
        plain = run(params, statements, traced=False)
        traced = run(params, statements, traced=True)
        per = (traced - plain) / len(statements) * 1000
        print(
            f"{len(statements)} statements, {args.tables + 1} tables: plain {plain * 1000:.0f} ms, "
            f"traced {traced * 1000:.0f} ms ({traced / plain:.1f}x), {per:.2f} ms per statement"
        )
    finally:
        from django.db import connections

        connections.close_all()
        admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
