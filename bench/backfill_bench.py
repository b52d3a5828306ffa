"""``schemaops backfill`` against a single ``UPDATE t SET c = a * 2``, measured side by side.

    .venv/bin/python bench/backfill_bench.py                 # 5,000,000 rows, 3 rounds (~10 min)
    .venv/bin/python bench/backfill_bench.py --rows 200000 --rounds 1   # quick

In one run, on a database of its own on the local server (created, then dropped):
1. the single UPDATE (one transaction holding every row lock until it ends);
2. a plain loop of 10,000-row primary-key range UPDATEs in autocommit (the floor);
3. ``schemaops backfill start bench.T --set "c = a * 2"``, default settings, no broker
   (the embedded mode: one worker in the CLI process);
4. the same with ``--workers 2`` through Redis and a real ``celery worker -c 2``;
5. the single UPDATE and the embedded backfill again, each while two threads run
   single-row updates on random rows of the same table, timing every one.
Every run starts from a freshly loaded, vacuumed table. The whole plan is repeated
``--rounds`` times, interleaved, because one run on a shared machine varies by 10-20%:
each ratio is computed within its round and the median of the rounds is reported,
next to every round's value. It prints wall time, rows per second, the ratio to the
single UPDATE, the longest batch transaction (lock-hold time) and the p50/p99 latency
of the concurrent single-row updates.

The Django project it needs (one model ``T(a, c)`` on table ``t``, schemaops.backfill,
a Celery app reading CELERY_BROKER_URL) is generated in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psycopg2 import sql

sys.path.insert(0, str(Path(__file__).parent))
import _pg
from _pg import connect

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

SETTINGS = """
import os
INSTALLED_APPS = ["schemaops.backfill", "bench"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",
    "NAME": os.environ["BENCH_DB"], "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
SECRET_KEY = "bench"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
"""
CELERY = """
import os
from celery import Celery
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchproj.settings")
app = Celery("benchproj")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
"""
MODELS = """
import uuid
from django.db import models
class T(models.Model):
    a = models.IntegerField()
    c = models.BigIntegerField(null=True)
    class Meta:
        db_table = "t"
class U(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    a = models.IntegerField()
    c = models.BigIntegerField(null=True)
    class Meta:
        db_table = "u"
"""


@dataclass
class Result:
    name: str
    seconds: float
    rows: int
    max_lock: float
    latencies: list[float] = field(default_factory=list)
    notes: str = ""


def make_project(folder: Path) -> None:
    (folder / "benchproj").mkdir()
    (folder / "benchproj" / "__init__.py").write_text("from .celery import app as celery_app\n")
    (folder / "benchproj" / "settings.py").write_text(SETTINGS)
    (folder / "benchproj" / "celery.py").write_text(CELERY)
    (folder / "bench" / "migrations").mkdir(parents=True)
    (folder / "bench" / "__init__.py").write_text("")
    (folder / "bench" / "migrations" / "__init__.py").write_text("")
    (folder / "bench" / "models.py").write_text(MODELS)


def env_for(folder: Path, db: str, broker: str = "") -> dict[str, str]:
    env = {
        **os.environ,
        "BENCH_DB": db,
        "CELERY_BROKER_URL": broker,
        "DJANGO_SETTINGS_MODULE": "benchproj.settings",
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    return env


def admin(template: str, db: str) -> None:
    _pg.admin(sql.SQL(template).format(sql.Identifier(db)))


# t: an integer key in load order; u: random UUID (v4) keys, so key order is not the
# order of the rows on disk.
LOAD = {
    "t": "TRUNCATE t RESTART IDENTITY;"
    " INSERT INTO t (a, c) SELECT g, NULL FROM generate_series(1, %s) g",
    "u": "TRUNCATE u; INSERT INTO u (id, a, c) SELECT gen_random_uuid(), g, NULL"
    " FROM generate_series(1, %s) g",
}


def load_table(db: str, rows: int, table: str = "t") -> None:
    """A fresh table: rows with a = g, c NULL; no backfill runs; vacuumed and analyzed."""
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute("DELETE FROM schemaops_backfill_batch; DELETE FROM schemaops_backfill_run")
        cur.execute(LOAD[table], [rows])
        cur.execute(sql.SQL("VACUUM ANALYZE {}").format(sql.Identifier(table)))
    conn.close()


def check_table(db: str, table: str = "t") -> int:
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE c IS DISTINCT FROM a * 2").format(
                sql.Identifier(table)
            )
        )
        wrong = int(cur.fetchone()[0])
    conn.close()
    return wrong


class Writers:
    """Two threads doing single-row UPDATEs of random rows on a fixed schedule (every
    10 ms each). Latency counts from the scheduled start, so an update stuck behind a
    lock also delays the ones due after it, and the ones due but never sent because the
    run ended during the stall count too (no coordinated omission)."""

    INTERVAL = 0.01

    def __init__(self, db: str, rows: int, threads: int = 2) -> None:
        self.db, self.rows, self.stop = db, rows, threading.Event()
        self.latencies: list[float] = []
        self.threads = [threading.Thread(target=self._loop) for _ in range(threads)]

    def _loop(self) -> None:
        conn = connect(self.db)
        mine: list[float] = []
        due = time.perf_counter()
        with conn.cursor() as cur:
            while not self.stop.is_set():
                due += self.INTERVAL
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                cur.execute("UPDATE t SET a = a WHERE id = %s", [random.randint(1, self.rows)])
                mine.append(time.perf_counter() - due)
        # Updates that fell due while this thread was stuck, and that the stop came before:
        # count them as late as they already were (else one long stall is a single sample).
        end = time.perf_counter()
        while due + self.INTERVAL <= end:
            due += self.INTERVAL
            mine.append(end - due)
        conn.close()
        self.latencies.extend(mine)

    def __enter__(self) -> Writers:
        for t in self.threads:
            t.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()


def single_update(db: str, rows: int, writers: bool, table: str = "t") -> Result:
    conn = connect(db)
    with Writers(db, rows) if writers else _null() as load, conn.cursor() as cur:
        started = time.perf_counter()
        cur.execute(sql.SQL("UPDATE {} SET c = a * 2").format(sql.Identifier(table)))
        seconds = time.perf_counter() - started
    conn.close()
    name = "single UPDATE" + (" + writers" if writers else "") + (" [uuid]" if table == "u" else "")
    return Result(name, seconds, rows, seconds, load.latencies if load else [])


def plain_loop(db: str, rows: int, step: int = 10_000) -> Result:
    """The floor: 10,000-row primary-key ranges in autocommit, no checkpoint, no throttle."""
    conn = connect(db)
    longest = 0.0
    with conn.cursor() as cur:
        started = time.perf_counter()
        for lo in range(1, rows + 1, step):
            t = time.perf_counter()
            cur.execute(
                "UPDATE t SET c = a * 2 WHERE id >= %s AND id < %s", [lo, min(lo + step, rows + 1)]
            )
            longest = max(longest, time.perf_counter() - t)
        seconds = time.perf_counter() - started
    conn.close()
    return Result("plain loop, 10k-row ranges, autocommit", seconds, rows, longest)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def backfill(
    folder: Path,
    db: str,
    rows: int,
    workers: int,
    queue: str | None,
    writers: bool,
    extra: tuple[str, ...] = (),
    model: str = "T",
) -> Result:
    broker = REDIS if queue else ""
    args = [
        sys.executable,
        "-m",
        "schemaops",
        "backfill",
        "start",
        f"bench.{model}",
        "--set",
        "c = a * 2",
        "--settings",
        "benchproj.settings",
    ]
    if queue:
        args += ["--workers", str(workers), "--queue", queue, "--wait"]
    args += extra
    with Writers(db, rows) if writers else _null() as load:
        started, t0 = time.perf_counter(), time.time()
        proc = subprocess.run(
            args, cwd=folder, env=env_for(folder, db, broker), capture_output=True, text=True
        )
        seconds, t1 = time.perf_counter() - started, time.time()
    if proc.returncode != 0:
        raise SystemExit(f"backfill failed: {proc.stderr.strip().splitlines()[-1:]}")
    conn = connect(db)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT max(duration), count(*), percentile_cont(0.99) WITHIN GROUP "
            "(ORDER BY duration) FROM schemaops_backfill_batch"
        )
        longest, batches, p99 = cur.fetchone()
        cur.execute(_BREAKDOWN_SQL, [t0, t1])
        startup, span, in_batches, sweep, tail = cur.fetchone()
    conn.close()
    slowed = proc.stderr.count("action=slow") + proc.stderr.count("action=hold")
    verify = "" if "--no-verify" in extra else " + verify"
    name = f"backfill{verify}, {'Celery+Redis' if queue else 'embedded'}, {workers} worker(s)"
    name += "".join(f" {arg}" for arg in extra) + (" [uuid]" if model == "U" else "")
    notes = (
        f"{batches} batches, p99 batch {p99 * 1000:.0f} ms, throttle events {slowed}; "
        f"start-up {startup:.1f}s, batches {span:.1f}s (in transactions {in_batches:.1f}s), "
        f"sweep {sweep:.1f}s, exit {tail:.1f}s"
    )
    return Result(
        name + (" + writers" if writers else ""),
        seconds,
        rows,
        float(longest),
        load.latencies if load else [],
        notes,
    )


_BREAKDOWN_SQL = """
SELECT extract(epoch FROM min(b.started_at)) - %s,
       extract(epoch FROM max(b.finished_at) - min(b.started_at)),
       sum(b.duration),
       extract(epoch FROM max(r.finished_at) - max(b.finished_at)),
       %s - extract(epoch FROM max(r.finished_at))
FROM schemaops_backfill_batch b JOIN schemaops_backfill_run r ON r.id = b.run_id
"""


def start_worker(folder: Path, db: str, queue: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "benchproj",
            "worker",
            "-Q",
            queue,
            "-c",
            "2",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
            "-n",
            f"{queue}@%h",
        ],
        cwd=folder,
        env=env_for(folder, db, REDIS),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(5)  # let it connect before the clock starts
    return proc


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(results: list[Result], rows: int, rnd: int) -> None:
    base = results[0].seconds
    print(
        f"\nround {rnd}: {rows:,} rows, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} (shared machine: other sessions may be running)"
    )
    print(
        f"{'run':<52}{'wall s':>8}{'rows/s':>10}{'single/this':>13}{'max lock':>10}"
        f"{'p50 write':>11}{'p99 write':>11}{'max write':>11}"
    )
    for r in results:
        marks = [percentile(r.latencies, q) * 1000 for q in (0.5, 0.99, 1.0)]
        lat = "".join(f"{m:>9.1f}ms" for m in marks) if r.latencies else f"{'-':>11}" * 3
        print(
            f"{r.name:<52}{r.seconds:>8.1f}{r.rows / r.seconds:>10.0f}{base / r.seconds:>13.2f}"
            f"{r.max_lock * 1000:>8.0f}ms{lat}" + (f"   {r.notes}" if r.notes else "")
        )


LEGEND = """
What each row measures (wall s):
  single UPDATE          the one statement's execute() on an open connection (no start-up)
  plain loop             10k-row key-range UPDATEs in autocommit, same open connection
  backfill ...           the whole `schemaops backfill start` process: Python start-up, run
                         creation, every batch, and exit; "--no-verify" skips the final sweep,
                         the default row includes it ("backfill + verify")
  notes                  start-up = process start to first claim; batches = first claim to last
                         checkpoint (in transactions = sum of batch transactions); sweep = last
                         checkpoint to run finished (the verification sweep); exit = the rest
  max lock               longest batch transaction (UPDATE + checkpoint), from the batches table
"""


SINGLE, LOOP = "single UPDATE", "plain loop, 10k-row ranges, autocommit"
VERIFIED = "backfill + verify, embedded, 1 worker(s)"
NO_VERIFY = "backfill, embedded, 1 worker(s) --no-verify"
TWO = "backfill + verify, Celery+Redis, 2 worker(s)"
UUID_SINGLE = "single UPDATE [uuid]"
UUID_NO_VERIFY = "backfill, embedded, 1 worker(s) --no-verify [uuid]"
UUID_VERIFIED = "backfill + verify, embedded, 1 worker(s) [uuid]"


def ratios(rounds: list[list[Result]]) -> None:
    """Each ratio within its round; the median over the rounds, then every round's value."""
    by = [{r.name: r for r in results} for results in rounds]

    def line(label: str, num: str, den: str, target: str = "") -> None:
        values = [b[num].seconds / b[den].seconds for b in by if num in b and den in b]
        if values:
            each = ", ".join(f"{v:.2f}" for v in values)
            print(f"{label}: {statistics.median(values):.2f}x (rounds: {each}){target}")

    print(LEGEND)
    print(f"median over {len(rounds)} round(s), each ratio taken within its round:")
    line("plain 10k-row loop vs single UPDATE", SINGLE, LOOP)
    line("backfill (1 worker, embedded, --no-verify) vs plain loop", LOOP, NO_VERIFY)
    line(
        "backfill (1 worker, embedded, --no-verify) vs single UPDATE",
        SINGLE,
        NO_VERIFY,
        "  (>= 1.00 is the target)",
    )
    line("backfill + verify sweep (1 worker, embedded, default) vs single UPDATE", SINGLE, VERIFIED)
    line("2 Celery workers vs 1 embedded worker (both with the sweep)", VERIFIED, TWO)
    line(
        "random UUID key: backfill (--no-verify) vs single UPDATE",
        UUID_SINGLE,
        UUID_NO_VERIFY,
        "  (>= 0.90 is the target)",
    )
    line("random UUID key: backfill + verify vs single UPDATE", UUID_SINGLE, UUID_VERIFIED)
    one = max(
        (b[n].max_lock for b in by for n in (VERIFIED, NO_VERIFY) if n in b), default=float("nan")
    )
    uuid_lock = max(
        (b[n].max_lock for b in by for n in (UUID_VERIFIED, UUID_NO_VERIFY) if n in b),
        default=float("nan"),
    )
    two = max((b[TWO].max_lock for b in by if TWO in b), default=float("nan"))
    print(
        f"longest batch lock hold over all rounds: {one * 1000:.0f} ms (1 worker), "
        f"{two * 1000:.0f} ms (2 workers), {uuid_lock * 1000:.0f} ms (UUID key);"
        " target < 250 ms"
    )
    single_p99 = [
        percentile(b[SINGLE + " + writers"].latencies, 0.99)
        for b in by
        if SINGLE + " + writers" in b
    ]
    backfill_p99 = [
        percentile(b[VERIFIED + " + writers"].latencies, 0.99)
        for b in by
        if VERIFIED + " + writers" in b
    ]
    if single_p99 and backfill_p99:
        print(
            f"p99 single-row update latency (median of rounds): "
            f"{statistics.median(single_p99) * 1000:.1f} ms during the single UPDATE vs "
            f"{statistics.median(backfill_p99) * 1000:.1f} ms during the backfill"
        )


QUEUE = f"bench-{uuid.uuid4().hex[:6]}"


def int_plan(folder: Path, db: str, args: Any) -> list[tuple[str, Any]]:
    """The integer-key runs: single UPDATE, plain loop, the backfill embedded, with and
    without the sweep, through Celery, and the single UPDATE and backfill under writers."""
    plan: list[tuple[str, Any]] = [
        ("single", lambda: single_update(db, args.rows, False)),
        ("loop", lambda: plain_loop(db, args.rows)),
        ("embedded", lambda: backfill(folder, db, args.rows, 1, None, False)),
        ("no-verify", lambda: backfill(folder, db, args.rows, 1, None, False, ("--no-verify",))),
    ]
    if not args.no_celery:
        plan.append(("celery", lambda: backfill(folder, db, args.rows, 2, QUEUE, False)))
    if not args.no_writers:
        plan.append(("single+w", lambda: single_update(db, args.rows, True)))
        plan.append(("embedded+w", lambda: backfill(folder, db, args.rows, 1, None, True)))
    return plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--no-celery", action="store_true", help="skip the Redis run")
    parser.add_argument("--no-writers", action="store_true", help="skip the latency runs")
    parser.add_argument("--rounds", type=int, default=3, help="repeat the whole plan (median)")
    parser.add_argument(
        "--keys",
        choices=["int", "uuid", "both"],
        default="both",
        help="the integer-key table t, the random-UUID-key table u, or both",
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="schemaops-backfill-bench-"))
    db = f"schemaops_bench_{uuid.uuid4().hex[:8]}"
    make_project(folder)
    admin("CREATE DATABASE {}", db)
    worker = None
    try:
        env = env_for(folder, db)
        for command in (["makemigrations", "bench", "-v0"], ["migrate", "-v0"]):
            subprocess.run(
                [sys.executable, "-m", "django", *command], cwd=folder, env=env, check=True
            )
        plan: list[tuple[str, Any]] = []
        if args.keys != "uuid":
            plan += int_plan(folder, db, args)
        if args.keys != "int":
            plan += [
                ("uuid single", lambda: single_update(db, args.rows, False, "u")),
                (
                    "uuid no-verify",
                    lambda: backfill(folder, db, args.rows, 1, None, False, ("--no-verify",), "U"),
                ),
                ("uuid embedded", lambda: backfill(folder, db, args.rows, 1, None, False, (), "U")),
            ]
        rounds: list[list[Result]] = []
        for rnd in range(1, args.rounds + 1):
            results = []
            for label, step in plan:
                table = "u" if label.startswith("uuid") else "t"
                load_table(db, args.rows, table)
                if label == "celery":
                    worker = start_worker(folder, db, QUEUE)
                print(f"round {rnd}: running {label} ...", file=sys.stderr, flush=True)
                results.append(step())
                if worker is not None:
                    os.killpg(worker.pid, signal.SIGTERM)
                    worker.wait(timeout=30)
                    worker = None
                wrong = check_table(db, table)
                if wrong:
                    raise SystemExit(f"{label}: {wrong} rows wrong after the run")
            report(results, args.rows, rnd)
            rounds.append(results)
        ratios(rounds)
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGKILL)
        admin("DROP DATABASE IF EXISTS {} WITH (FORCE)", db)
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
