"""Time ``schemaops check`` against django-migration-linter on the same synthetic project.

    .venv/bin/python bench/check_bench.py            # 1000 and 2000 migrations
    .venv/bin/python bench/check_bench.py --quick    # 200 and 400, for a smoke run

Both tools lint every migration of the generated apps in the same run, on
the same machine, each as a fresh process (startup included, as a CI job
pays it). As in a CI job, the installed packages have their bytecode (pip
compiles it at install; schemaops' own source tree is compiled here, since an
editable install has none) and the project's migrations are compiled afresh by
every run of either tool (no .pyc is written for them).
django-migration-linter runs with ``--no-cache`` and needs a database (it
reads ``django_migrations`` and calls ``sqlmigrate``); an empty scratch
database is created for it and dropped afterwards. schemaops runs offline,
generating and reading the SQL of every operation and planning every remedy,
as ``check`` always does; on a machine with more than one CPU it shares the
apps between as many processes (``--jobs``, see schemaops/gate/shards.py),
so the CPU time is printed too.
Printed: wall times, the speed ratio, and how linting 2N scales against
linting N (target: at most 2.2x).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from psycopg2 import sql

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _pg import admin as _admin  # noqa: E402
from gen_project import generate  # noqa: E402

PY = sys.executable
SCHEMAOPS = [
    PY,
    "-m",
    "schemaops",
    "check",
    "--settings",
    "benchproj.settings",
    "--fail-on",
    "never",
    "--format",
    "json",
]
LINTER = [PY, "-m", "django", "lintmigrations", "--no-cache", "--settings", "benchproj.settings"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall time and CPU time (user + system) of one run of ``cmd``."""
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if proc.returncode not in (0, 1):
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise SystemExit(f"{cmd[2:4]} failed ({proc.returncode}): {' | '.join(tail)}")
    return elapsed, cpu, proc.stdout


def compile_schemaops() -> None:
    """Bytecode for schemaops' own modules, as ``pip install`` leaves it."""
    import compileall
    import importlib.util

    for name in ("schemaops", "schemaops.checks", "schemaops.backfill"):
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(folder, quiet=1)


def best_of(n: int, cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Best wall time and best CPU time over ``n`` runs."""
    runs = [timed(cmd, cwd, env)[:2] for _ in range(n)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def run(apps: int, per_app: int, repeat: int, with_linter: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="schemaops-bench-") as tmp:
        root = Path(tmp)
        total = generate(root, apps, per_app)
        db = f"schemaops_bench_{os.getpid()}"
        # The generated migrations are compiled in every run, by both tools alike.
        env = {
            **os.environ,
            "PYTHONPATH": str(root),
            "BENCH_DB": db,
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        out = {"migrations": float(total)}
        out["schemaops"], out["schemaops_cpu"] = best_of(repeat, SCHEMAOPS, root, env)
        if with_linter:
            _admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
            try:
                env_l = {**env, "BENCH_LINTER": "1"}
                out["linter"], out["linter_cpu"] = best_of(1, LINTER, root, env_l)
            finally:
                _admin(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 and 400 migrations")
    parser.add_argument("--repeat", type=int, default=3, help="schemaops runs (best of)")
    parser.add_argument("--no-linter", action="store_true", help="skip django-migration-linter")
    args = parser.parse_args()
    apps = 4 if args.quick else 20
    compile_schemaops()
    small = run(apps, 50, args.repeat, not args.no_linter)
    large = run(apps, 100, args.repeat, False)
    load = os.getloadavg()[0]
    print(f"load average before the runs: {load:.2f} (2 cores; other work inflates wall time)")
    print(f"{'migrations':>12} {'schemaops wall/cpu':>20} {'linter wall/cpu':>20}")
    for row in (small, large):
        ours = f"{row['schemaops']:.2f}s/{row['schemaops_cpu']:.2f}s"
        theirs = f"{row['linter']:.2f}s/{row['linter_cpu']:.2f}s" if "linter" in row else "-"
        print(f"{int(row['migrations']):>12} {ours:>20} {theirs:>20}")
    print(
        f"schemaops scaling {int(large['migrations'])} vs {int(small['migrations'])}: "
        f"wall {large['schemaops'] / small['schemaops']:.2f}x, "
        f"cpu {large['schemaops_cpu'] / small['schemaops_cpu']:.2f}x (target <= 2.2x)"
    )
    if "linter" in small:
        print(
            f"schemaops is {small['linter'] / small['schemaops']:.1f}x faster than "
            f"django-migration-linter by wall time, "
            f"{small['linter_cpu'] / small['schemaops_cpu']:.1f}x by CPU time (target >= 30x)"
        )


if __name__ == "__main__":
    main()
