"""``schemaops check`` shared between processes (schemaops.gate.shards): the same report.

* ``shares()``: whole apps, every migration once, the same cut whatever the order
  the selection comes in (and the hash seed), balanced the greedy way, no cut
  below ``MIN_OPERATIONS``, for one app or one job (hypothesis properties and
  hand-made cases).
* ``in_processes()``: results in part order; a child that fails in any way
  (raises, is killed, exits without sending) has its part done again here; an
  error of this process stops and reaps the children.
* The console script in a subprocess, as a user runs it, on a generated project,
  the 25-app shapes project of bench/remedy_sample.py and a small project with a
  finding in every section of a report: ``check -j 1``, ``-j 2`` and ``-j 3``
  write the same bytes in every format and end with the same status. A driver
  (``python -c DRIVER check ...``) reports the parts and which process linted
  which apps, so the test cannot pass by running one process; it can also make
  the children fail (the parent redoes their parts: the same report) or hang
  (Ctrl-C then ends the run at once, no process left). Also: with the database
  read (``--unapplied``), no sharing below ``MIN_OPERATIONS`` or outside the
  console script, and a fork that fails (its part is linted in the parent).
* The invariant the merge relies on: one process's ``LintResult.order`` is
  sorted, one entry per finding.
* ``exit_now``: a reader that goes away early gets no traceback; a whole report
  comes out on stdout.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import processkit
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import ROOT, SAMPLE

from schemaops.gate import shards

HYPOTHESIS: dict[str, Any] = {"derandomize": True, "database": None, "deadline": None}
FORMATS = ["json", "text", "github", "sarif", "markdown", "gitlab"]


# -- shares() ------------------------------------------------------------------------

Weights = dict[tuple[str, str], int]


@st.composite
def selections(draw: st.DrawFn, min_apps: int = 0) -> Weights:
    """A selection: app label -> its migrations' weights (each >= 1, as 1 + operations)."""
    apps = draw(
        st.dictionaries(
            st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True),
            st.lists(st.integers(min_value=1, max_value=80), min_size=1, max_size=6),
            min_size=min_apps,
            max_size=9,
        )
    )
    return {(app, f"{i + 1:04d}_m"): w for app, ws in apps.items() for i, w in enumerate(ws)}


def _apps(keys: set[tuple[str, str]]) -> set[str]:
    return {app for app, _ in keys}


def _app_work(weights: Weights) -> dict[str, int]:
    work: dict[str, int] = {}
    for (app, _), w in weights.items():
        work[app] = work.get(app, 0) + w
    return work


@settings(max_examples=400, **HYPOTHESIS)
@given(selections(), st.integers(min_value=-1, max_value=12))
def test_shares_are_whole_apps_and_cover_the_selection_once(weights: Weights, jobs: int) -> None:
    cut = shards.shares(set(weights), weights.__getitem__, jobs)
    apps = _apps(set(weights))
    assert set().union(*cut) == set(weights)  # nothing lost, nothing added
    assert sum(len(share) for share in cut) == len(weights)  # disjoint
    owner: dict[str, int] = {}
    for i, share in enumerate(cut):
        for app in _apps(share):
            assert owner.setdefault(app, i) == i, f"{app} is split between shares"
    assert len(cut) <= max(1, min(jobs, len(apps)))
    if jobs < 2 or len(apps) < 2 or sum(weights.values()) < shards.MIN_OPERATIONS:
        assert cut == [set(weights)]
    else:  # every app weighs something: each share gets one
        assert len(cut) == min(jobs, len(apps)) and all(cut)


@settings(max_examples=300, **HYPOTHESIS)
@given(selections(min_apps=2), st.integers(min_value=2, max_value=8))
def test_shares_are_balanced_the_greedy_way(weights: Weights, jobs: int) -> None:
    """Heaviest app first, to the lightest share: a share less its lightest app (the last
    one it got, when it was the lightest share) weighs no more than any share at the end."""
    work = _app_work(weights)
    cut = shards.shares(set(weights), weights.__getitem__, jobs)
    loads = [sum(work[app] for app in _apps(share)) for share in cut]
    if sum(loads) < shards.MIN_OPERATIONS:
        assert len(cut) == 1
        return
    for share, load in zip(cut, loads, strict=True):
        assert load - min(work[app] for app in _apps(share)) <= min(loads)


@settings(max_examples=200, **HYPOTHESIS)
@given(selections(), st.integers(min_value=1, max_value=6), st.randoms(use_true_random=False))
def test_shares_do_not_depend_on_the_order_the_selection_comes_in(
    weights: Weights, jobs: int, rnd: random.Random
) -> None:
    keys = list(weights)
    rnd.shuffle(keys)
    first = shards.shares(sorted(weights), weights.__getitem__, jobs)
    assert shards.shares(keys, weights.__getitem__, jobs) == first
    assert shards.shares(iter(reversed(keys)), weights.__getitem__, jobs) == first
    assert shards.shares(set(keys), weights.__getitem__, jobs) == first  # and run again


def _cut(weights: dict[str, int], jobs: int) -> list[set[str]]:
    """The apps of each share, for apps of one migration each."""
    selected = {(app, "0001_initial"): w for app, w in weights.items()}
    return [_apps(share) for share in shards.shares(set(selected), selected.__getitem__, jobs)]


def test_shares_go_heaviest_first_to_the_lightest_share() -> None:
    assert _cut({"a": 100, "b": 60, "c": 50}, 2) == [{"a"}, {"b", "c"}]
    # by weight, not by count: one heavy app alone, the ten light ones split evenly
    light = {f"l{i}": 10 for i in range(10)}
    assert _cut({"big": 300, **light}, 3) == [
        {"big"},
        {"l0", "l2", "l4", "l6", "l8"},
        {"l1", "l3", "l5", "l7", "l9"},
    ]
    # equal weights: by label, the lightest share first
    assert _cut({"d": 60, "b": 60, "a": 60, "c": 60}, 2) == [{"a", "c"}, {"b", "d"}]
    # an app's weight is that of all its migrations
    many = {("many", f"{i:04d}"): 10 for i in range(20)}  # 200 in small pieces
    selected = {**many, ("one", "0001"): 150, ("two", "0001"): 60}
    cut = shards.shares(set(selected), selected.__getitem__, 2)
    assert [_apps(share) for share in cut] == [{"many"}, {"one", "two"}]


def test_no_cut_below_min_operations_one_app_or_one_job() -> None:
    edge = shards.MIN_OPERATIONS // 2
    assert _cut({"a": edge, "b": shards.MIN_OPERATIONS - edge}, 2) == [{"a"}, {"b"}]
    assert _cut({"a": edge, "b": shards.MIN_OPERATIONS - edge - 1}, 2) == [{"a", "b"}]
    assert _cut({"a": 1000, "b": 1000}, 1) == [{"a", "b"}]
    assert _cut({"a": 1000, "b": 1000}, 0) == [{"a", "b"}]
    one_app = {("a", f"{i:04d}"): 100 for i in range(10)}
    assert shards.shares(set(one_app), one_app.__getitem__, 4) == [set(one_app)]
    assert shards.shares(set(), lambda key: 1, 4) == [set()]
    assert _cut({"a": 5, "b": 5, "c": 5}, 9) == [{"a", "b", "c"}]  # 15 < MIN_OPERATIONS


def test_min_operations_is_read_when_called(monkeypatch: pytest.MonkeyPatch) -> None:
    """The end-to-end driver below lowers it to share small projects."""
    monkeypatch.setattr(shards, "MIN_OPERATIONS", 0)
    assert _cut({"a": 1, "b": 1, "c": 1}, 9) == [{"a"}, {"b"}, {"c"}]


HASH_SEED_SCRIPT = """
import json
from schemaops.gate import shards
weights = {(f"app{i % 13}", f"{i:04d}_m"): 1 + (i * 7) % 23 for i in range(150)}
cut = shards.shares(set(weights), weights.__getitem__, 4)
print(json.dumps([sorted(share) for share in cut]))
"""


def test_shares_are_the_same_whatever_the_hash_seed() -> None:
    """Sets of strings iterate in another order under another PYTHONHASHSEED."""
    cuts = set()
    for seed in ("0", "1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", HASH_SEED_SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        cuts.add(done.stdout)
    assert len(cuts) == 1 and len(json.loads(cuts.pop())) == 4


# -- in_processes() ------------------------------------------------------------------


def _children() -> dict[int, str]:
    """This process's child processes (running or zombie): pid -> state, from /proc."""
    me = os.getpid()
    return {pid: fields[0] for pid, fields in processkit.proc_stats() if int(fields[1]) == me}


def _reaped(pid: int) -> bool:
    """Is ``pid`` no child of ours any more (ended and waited for)?"""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return pid not in _children()
    return False


class PidLog:
    """Child processes write their pid here (a file: their memory is their own)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.write_text("")

    def add(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)

    def pids(self) -> list[int]:
        return [int(line) for line in self.path.read_text().split()]

    def wait_for(self, count: int, timeout: float = 20) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(self.pids()) < count:
            assert time.monotonic() < deadline, f"{self.pids()}: {count} children never started"
            time.sleep(0.01)
        return self.pids()


# In a whole run, other modules' fixtures may have left a thread in this process (the
# database dropper of tests/support.py, waiting on its queue): Python 3.12 then warns at
# every fork. The children here take no lock that thread could hold.
forks_here = pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)


@pytest.fixture
def pid_log(tmp_path: Path) -> Iterator[PidLog]:
    log = PidLog(tmp_path / "pids")
    yield log
    for pid in log.pids():  # a child a failed test left running: ours, ended by its id
        with suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def test_one_part_or_none_is_done_here() -> None:
    assert shards.in_processes([7], lambda part: (part, os.getpid())) == [(7, os.getpid())]
    assert shards.in_processes([], lambda part: part) == []


@forks_here
def test_results_come_back_in_part_order(pid_log: PidLog) -> None:
    """Later parts finish first; one result is larger than a pipe holds (4 MB)."""
    parent, log = os.getpid(), pid_log

    def work(part: int) -> dict[str, Any]:
        if os.getpid() != parent:
            log.add()
            time.sleep(0.1 * (4 - part))
        blob = b"x" * (4 << 20) if part == 1 else b""
        return {"part": part, "pid": os.getpid(), "keys": {(f"app{part}", "0001")}, "blob": blob}

    results = shards.in_processes([0, 1, 2, 3], work)
    assert [r["part"] for r in results] == [0, 1, 2, 3]
    assert [r["keys"] for r in results] == [{(f"app{n}", "0001")} for n in range(4)]
    assert len(results[1]["blob"]) == 4 << 20
    pids = [r["pid"] for r in results]
    assert pids[0] == parent and len(set(pids)) == 4  # each other part in a child of its own
    assert sorted(pids[1:]) == sorted(log.pids())
    assert all(_reaped(pid) for pid in pids[1:])


def _fail(how: str) -> None:
    if how == "raises":
        raise RuntimeError("only in the child")
    if how == "is killed":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "exits 0 sending nothing":
        os._exit(0)
    if how == "exits 3":
        os._exit(3)
    raise AssertionError(how)


@forks_here
@pytest.mark.parametrize("how", ["raises", "is killed", "exits 0 sending nothing", "exits 3"])
def test_a_part_whose_child_fails_is_done_again_here(how: str, pid_log: PidLog) -> None:
    parent, log = os.getpid(), pid_log
    done_here: list[int] = []  # the parent's memory: children's appends stay theirs

    def work(part: int) -> tuple[int, frozenset[str]]:
        if os.getpid() == parent:
            done_here.append(part)
        else:
            log.add()
            if part == 2:
                _fail(how)
        return part * part, frozenset({f"app{part}"})

    results = shards.in_processes([0, 1, 2, 3], work)
    assert results == [(n * n, frozenset({f"app{n}"})) for n in range(4)]
    assert done_here == [0, 2]  # its own part, then the failed child's
    assert len(log.pids()) == 3 and all(_reaped(pid) for pid in log.pids())


@forks_here
def test_an_error_of_a_part_done_again_here_goes_on_and_stops_the_others(
    pid_log: PidLog,
) -> None:
    """Part 1 fails in its child and again here: that error (this process's) is raised;
    part 2's child, still running, is stopped and reaped."""
    parent, log = os.getpid(), pid_log

    def work(part: int) -> int:
        if os.getpid() != parent:
            log.add()
            if part == 2:
                time.sleep(60)
        else:
            log.wait_for(2)
        if part == 1:
            raise ValueError(f"part 1 in {os.getpid()}")
        return part

    started = time.monotonic()
    with pytest.raises(ValueError, match=rf"^part 1 in {parent}$"):
        shards.in_processes([0, 1, 2], work)
    assert time.monotonic() - started < 30  # part 2's child was not waited for
    assert len(log.pids()) == 2 and all(_reaped(pid) for pid in log.pids())


@forks_here
@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_an_error_of_this_process_s_part_stops_and_reaps_the_children(
    error: type[BaseException], pid_log: PidLog
) -> None:
    parent, log = os.getpid(), pid_log

    def work(part: int) -> int:
        if os.getpid() != parent:
            log.add()
            time.sleep(60)
            return part
        log.wait_for(3)  # every child is running
        raise error("this process's part")

    started = time.monotonic()
    with pytest.raises(error, match="this process's part"):
        shards.in_processes([0, 1, 2, 3], work)
    assert time.monotonic() - started < 30
    pids = log.pids()
    assert len(pids) == 3
    assert all(_reaped(pid) for pid in pids)
    assert not [pid for pid, state in _children().items() if state == "Z"]  # no zombie


# -- the console script, end to end ---------------------------------------------------

# Run as `python -c DRIVER check ...`: schemaops.cli.main() reads sys.argv as the console
# script does. It reports on stderr how many parts the selection was cut into (T-PARTS)
# and which process linted which apps (T-LINT, T-DONE when linted); T_FAIL makes the
# children's work fail (raise, kill) or hang.
DRIVER = r"""
import atexit, os, signal, sys, time
PARENT = os.getpid()
from schemaops.gate import command, shards
if "T_MIN_OPERATIONS" in os.environ:
    shards.MIN_OPERATIONS = int(os.environ["T_MIN_OPERATIONS"])
real_in_processes, real_lint = shards.in_processes, command._lint
FAIL = os.environ.get("T_FAIL", "")

def in_processes(parts, work):
    os.write(2, f"T-PARTS {len(parts)}\n".encode())
    return real_in_processes(parts, work)

def lint(linter, keys, *args):
    pid = os.getpid()
    apps = ",".join(sorted({app for app, _ in keys}))
    os.write(2, f"T-LINT {'parent' if pid == PARENT else 'child'} {pid} {apps}\n".encode())
    if pid != PARENT and FAIL == "raise":
        raise RuntimeError("T-FAIL: the child's work raises")
    if pid != PARENT and FAIL == "kill":
        os.kill(pid, signal.SIGKILL)
    if pid != PARENT and FAIL == "hang":
        time.sleep(60)
    done = real_lint(linter, keys, *args)
    os.write(2, f"T-DONE {pid}\n".encode())
    return done

shards.in_processes, command._lint = in_processes, lint
if os.environ.get("T_FORK_FAILS_AT"):  # the n-th fork fails as under a pids limit
    import errno
    real_fork, forks = os.fork, []

    def fork():
        forks.append(1)
        if len(forks) >= int(os.environ["T_FORK_FAILS_AT"]):
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return real_fork()

    os.fork = fork
if os.environ.get("T_ATEXIT"):
    atexit.register(os.write, 2, b"T-ATEXIT\n")
from schemaops.cli import main
if os.environ.get("T_EMBEDDED"):
    main(sys.argv[1:])  # as another program calls it: not the console script
else:
    main()
"""


@dataclass(frozen=True)
class Project:
    name: str
    root: Path
    settings: str
    apps: frozenset[str]
    forced: bool  # too small to share: the driver lowers MIN_OPERATIONS

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("T_")}
        env.update(
            PYTHONPATH=str(self.root),
            DJANGO_SETTINGS_MODULE=self.settings,
            # check is offline: any database name works
            BENCH_DB="schemaops_offline",
            PROOF_DB_NAME="schemaops_offline",
            SHOP_DB_NAME="schemaops_offline",
            NO_COLOR="1",
        )
        if self.forced:
            env["T_MIN_OPERATIONS"] = "0"
        env.update(extra)
        return env


@dataclass(frozen=True)
class Run(processkit.Run):
    @property
    def parts(self) -> list[int]:
        return [
            int(line.split()[1]) for line in self.err.splitlines() if line.startswith("T-PARTS ")
        ]

    @property
    def lints(self) -> list[tuple[str, int, frozenset[str]]]:
        """(parent or child, pid, apps) of each part linted, in the order reported."""
        out = []
        for line in self.err.splitlines():
            if line.startswith("T-LINT "):
                _, who, pid, apps = line.split()
                out.append((who, int(pid), frozenset(apps.split(","))))
        return out


def _start(
    project: Project, args: list[str], env: dict[str, str] | None = None, driver: bool = True
) -> Any:
    return processkit.start(
        project.root, project.env(**(env or {})), args, DRIVER if driver else None
    )


def _finish(proc: Any) -> Run:
    return Run(*processkit.finish(proc, 300))


def _runs(project: Project, *commands: tuple[list[str], dict[str, str]]) -> list[Run]:
    """The commands, three at a time, in the order given."""
    done: list[Run] = []
    for i in range(0, len(commands), 3):
        started = [_start(project, args, env) for args, env in commands[i : i + 3]]
        done.extend(_finish(proc) for proc in started)
    return done


# `check -j 1 --format F` of each project, the report every sharing must give again
_ONE_PROCESS: dict[tuple[str, str], Run] = {}


def _one_process(project: Project, fmt: str) -> Run:
    key = (project.name, fmt)
    if key not in _ONE_PROCESS:
        _ONE_PROCESS[key] = _finish(_start(project, ["check", "-j", "1", "--format", fmt]))
    return _ONE_PROCESS[key]


def _load_bench(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


MIXED_SETTINGS = """import os
SECRET_KEY = "x"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth",
                  "alpha", "beta", "gamma", "delta"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql",
    "NAME": os.environ.get("MIXED_DB", "schemaops_offline"),
    "USER": os.environ.get("PGUSER", "postgres"),
    "HOST": os.environ.get("PGHOST", "127.0.0.1"), "PORT": os.environ.get("PGPORT", "5432")}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
"""


def _migration(dependencies: str, operations: str, post: bool = False) -> str:
    phase = '    deploy_phase = "post"\n' if post else ""
    return (
        "from django.db import migrations, models\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"{phase}    dependencies = [{dependencies}]\n"
        f"    operations = [\n        {operations}\n    ]\n"
    )


def _item(fk: str = "") -> str:
    extra = (
        f'\n        ("{fk}", models.ForeignKey("{fk}.item", models.CASCADE, db_index=False, '
        "null=True)),"
        if fk
        else ""
    )
    return (
        'migrations.CreateModel("Item", [\n'
        '        ("id", models.BigAutoField(primary_key=True)),\n'
        '        ("name", models.CharField(max_length=40, null=True)),\n'
        f'        ("legacy", models.CharField(max_length=20, null=True)),{extra}\n'
        "    ]),"
    )


# Four apps interleaved in the plan, with a finding in every section of a report: a
# pre-deploy migration after a post-deploy one (SO111, first), the walk's, a foreign key
# without an index (found on the final state) and a suppression that did nothing (SO902).
MIXED = {
    "alpha": {
        "0001_initial": _migration("", _item()),
        "0002_drop_legacy": _migration(
            '("alpha", "0001_initial")', 'migrations.RemoveField("item", "legacy"),', post=True
        ),
        "0003_index": _migration(
            '("alpha", "0002_drop_legacy")',
            'migrations.AddIndex("item", models.Index(fields=["name"], name="alpha_name_idx")),',
        ),
    },
    "beta": {
        "0001_initial": _migration('("alpha", "0001_initial")', _item("alpha")),
        "0002_after_post": _migration(
            '("beta", "0001_initial"), ("alpha", "0002_drop_legacy")',
            'migrations.AddField("item", "qty", models.IntegerField(null=True)),'
            "  # schemaops: ignore[SO201] not an index",
        ),
        "0003_default": _migration(
            '("beta", "0002_after_post")',
            'migrations.AddField("item", "status", models.CharField(max_length=9, default="new")),',
        ),
    },
    "gamma": {
        "0001_initial": _migration('("beta", "0001_initial")', _item("beta")),
        "0002_drop": _migration(
            '("gamma", "0001_initial"), ("alpha", "0003_index")',
            'migrations.RemoveField("item", "legacy"),',
            post=True,
        ),
    },
    "delta": {
        "0001_initial": _migration('("gamma", "0002_drop")', _item()),
        "0002_rename": _migration(
            '("delta", "0001_initial")',
            'migrations.RenameField("item", "name", "title"),\n'
            '        migrations.AlterField("item", "legacy", models.CharField(max_length=20)),',
        ),
    },
}


def _write_mixed(root: Path) -> Project:
    (root / "mixedproj").mkdir(parents=True)
    (root / "mixedproj" / "__init__.py").write_text("")
    (root / "mixedproj" / "settings.py").write_text(MIXED_SETTINGS)
    (root / "pyproject.toml").write_text('[tool.schemaops]\nsettings = "mixedproj.settings"\n')
    for app, files in MIXED.items():
        (root / app / "migrations").mkdir(parents=True)
        (root / app / "__init__.py").write_text("")
        (root / app / "migrations" / "__init__.py").write_text("")
        for name, text in files.items():
            (root / app / "migrations" / f"{name}.py").write_text(text)
    return Project("mixed", root, "mixedproj.settings", frozenset(MIXED), forced=True)


def _apps_of(root: Path) -> frozenset[str]:
    return frozenset(p.parent.parent.name for p in root.glob("*/migrations/__init__.py"))


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Project]:
    """Written once for the module: ``gen`` (6 apps x 20 migrations, large enough to be
    shared as it is), ``shapes`` (25 apps), ``mixed`` and ``sample`` (the demo shop),
    small: shared only with MIN_OPERATIONS lowered."""
    out = tmp_path_factory.mktemp("shards")
    sample = _load_bench("remedy_sample")
    gen = sample.build_gen(out, 6, 20)
    shapes = sample.build_shapes(out)
    shop = sample.build_sample(out)
    found = [
        Project("gen", gen.root, gen.settings, _apps_of(gen.root), forced=False),
        Project("shapes", shapes.root, shapes.settings, _apps_of(shapes.root), forced=False),
        _write_mixed(out / "mixed"),
        Project("sample", shop.root, shop.settings, _apps_of(shop.root), forced=True),
    ]
    return {p.name: p for p in found}


def _assert_shared(run: Run, jobs: int, apps: frozenset[str]) -> None:
    """``run`` cut its selection into ``jobs`` parts, linted each in a process of its own
    (the first in the parent), each app in exactly one of them."""
    assert run.parts == [jobs]
    lints = run.lints
    assert len(lints) == jobs
    assert [who for who, _, _ in lints].count("parent") == 1
    assert {pid for who, pid, _ in lints if who == "parent"} == {run.pid}
    assert len({pid for _, pid, _ in lints}) == jobs
    linted = [app for _, _, part in lints for app in part]
    assert sorted(linted) == sorted(apps)


def _assert_clean_stderr(run: Run) -> None:
    assert "Traceback" not in run.err and "error" not in run.err.lower(), run.err


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", ["gen", "shapes", "mixed"])
def test_the_report_is_the_same_bytes_whatever_the_sharing(
    projects: dict[str, Project], name: str, fmt: str
) -> None:
    project = projects[name]
    one, two, three = _runs(
        project, *((["check", "-j", str(j), "--format", fmt], {}) for j in (1, 2, 3))
    )
    _ONE_PROCESS[(name, fmt)] = one
    assert one.code == 1 and len(one.out) > 2000  # error findings: a real report
    for run in (two, three):
        assert run.out == one.out
        assert run.code == one.code
    assert one.parts == [1] and [who for who, _, _ in one.lints] == ["parent"]
    _assert_shared(two, 2, project.apps)
    _assert_shared(three, 3, project.apps)
    for run in (one, two, three):
        _assert_clean_stderr(run)
    if fmt == "json":
        report = json.loads(one.out)
        assert len(report["findings"]) >= 20 and report["remedies"]
        assert report["summary"]["migrations"] == sum(
            len(list((project.root / app / "migrations").glob("0*.py"))) for app in project.apps
        )


@pytest.mark.parametrize("name", ["gen", "shapes"])
def test_the_driver_changes_nothing_the_console_script_writes(
    projects: dict[str, Project], name: str
) -> None:
    project = projects[name]
    plain = _finish(_start(project, ["check", "--format", "json"], driver=False))
    driven = _one_process(project, "json")
    assert (plain.code, plain.out) == (driven.code, driven.out)
    assert plain.err == ""


@pytest.mark.parametrize("fail", ["raise", "kill"])
@pytest.mark.parametrize("name", ["gen", "mixed"])
def test_children_that_fail_leave_the_report_as_it_is(
    projects: dict[str, Project], name: str, fail: str
) -> None:
    """Every child's work fails (it raises, or the child kills itself): the parent lints
    their parts after its own, and the report and exit status are those of one process."""
    project = projects[name]
    runs = _runs(
        project,
        *((["check", "-j", "3", "--format", fmt], {"T_FAIL": fail}) for fmt in ("json", "text")),
    )
    for fmt, failed in zip(("json", "text"), runs, strict=True):
        one = _one_process(project, fmt)
        assert failed.out == one.out and failed.code == one.code == 1
        _assert_clean_stderr(failed)
        assert failed.parts == [3]
        lints = failed.lints
        children = [apps for who, _, apps in lints if who == "child"]
        here = [apps for who, pid, apps in lints if who == "parent" and pid == failed.pid]
        assert len(children) == 2  # both children tried ...
        assert len(here) == 3 and set(here[1:]) == set(children)  # ... and the parent redid
        assert sorted(app for part in here for app in part) == sorted(project.apps)


@pytest.mark.parametrize("fails_at", ["1", "2"])
def test_a_fork_that_fails_leaves_the_report_as_it_is(
    projects: dict[str, Project], fails_at: str
) -> None:
    """A pids limit (a container's pids.max, systemd's TasksMax, RLIMIT_NPROC) or no memory:
    os.fork() raises; the parts no child could take are linted in the parent."""
    project = projects["gen"]
    failed = _finish(
        _start(project, ["check", "-j", "3", "--format", "json"], {"T_FORK_FAILS_AT": fails_at})
    )
    one = _one_process(project, "json")
    assert failed.err.count("T-PARTS 3") == 1
    assert (failed.code, failed.out) == (one.code, one.out), failed.err
    _assert_clean_stderr(failed)


def test_sharing_happens_only_when_worth_it_and_only_in_the_console_script(
    projects: dict[str, Project],
) -> None:
    gen, shop = projects["gen"], projects["sample"]
    large = _finish(_start(gen, ["check", "-j", "3", "--format", "json"]))  # as it is
    _assert_shared(large, 3, gen.apps)
    # the demo shop: 11 migrations, below MIN_OPERATIONS: one process
    small, forced, embedded = _runs(
        shop,
        (
            ["check", "-j", "3", "--format", "json"],
            {"T_MIN_OPERATIONS": str(shards.MIN_OPERATIONS)},
        ),
        (["check", "-j", "3", "--format", "json"], {}),
        # main(args): another program's process, never forked
        (["check", "-j", "3", "--format", "json"], {"T_EMBEDDED": "1"}),
    )
    assert small.parts == [1] and len(small.lints) == 1
    _assert_shared(forced, 3, shop.apps)
    assert embedded.parts == [1] and len(embedded.lints) == 1
    assert small.out == forced.out == embedded.out and small.code == forced.code == 1


MIGRATE_SCRIPT = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", "beta", "0001_initial", verbosity=0)  # and alpha 0001 before it
"""


def test_a_run_that_reads_the_database_is_the_same_shared(
    projects: dict[str, Project], scratch_db: dict[str, str]
) -> None:
    """``--database default --unapplied``: the database is read before the fork (the
    children inherit the connection and leave it alone); the report is the same."""
    project = projects["mixed"]
    env = {"MIXED_DB": scratch_db["dbname"]}
    subprocess.run(
        [sys.executable, "-c", MIGRATE_SCRIPT],
        cwd=project.root,
        env=project.env(**env),
        capture_output=True,
        check=True,
    )
    args = ["--database", "default", "--unapplied", "--format", "json"]
    one, two, three = _runs(project, *((["check", "-j", str(j), *args], env) for j in (1, 2, 3)))
    assert one.code == 1 and json.loads(one.out)["summary"]["migrations"] == 8  # 10 less 2
    assert two.out == three.out == one.out and two.code == three.code == one.code
    _assert_shared(two, 2, project.apps)
    _assert_shared(three, 3, project.apps)
    for run in (one, two, three):
        _assert_clean_stderr(run)


def _group(pgid: int) -> list[int]:
    """The processes of process group ``pgid``, from /proc."""
    return [pid for pid, fields in processkit.proc_stats() if int(fields[2]) == pgid]


def test_ctrl_c_while_children_lint_stops_them(projects: dict[str, Project]) -> None:
    """SIGINT (Ctrl-C) reaches the command while it waits for its children (they hang
    here): it ends as an interrupted run does, at once, leaving no process behind.

    (Not while this process lints its own part: on Django 6 a Ctrl-C that lands while
    Django builds a connection leaves a half-built object whose ``__del__`` prints an
    "Exception ignored" traceback at exit, with or without sharing.)"""
    project = projects["gen"]
    # a group of its own: its children are found by it
    args = ["check", "-j", "3", "--format", "json"]
    proc = processkit.start(project.root, project.env(T_FAIL="hang"), args, DRIVER, True)
    try:
        seen = b""
        while b"T-DONE" not in seen:  # this process's part is done: it waits for theirs
            chunk = os.read(proc.stderr.fileno(), 4096)  # type: ignore[union-attr]
            assert chunk, seen
            seen += chunk
        # at any moment from here on, even just before a blocking read of a child's pipe
        # (where CPython would run the handler only once the read returns: it waits in
        # short slices, see schemaops._process.wait_readable)
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        out, rest = proc.communicate(timeout=20)
        assert time.monotonic() - started < 5  # the hanging children were not waited for
        err = (seen + rest).decode()
        assert proc.returncode == 130 and out == b""
        assert err.endswith("schemaops: aborted\n") and "Traceback" not in err, err
        deadline = time.monotonic() + 5
        while _group(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _group(proc.pid) == []
    finally:
        for pid in _group(proc.pid):  # what a failed assertion left: started here
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


CAN_FORK_SCRIPT = """
import threading, time
from schemaops import _gc
from schemaops.gate import shards
seen = [shards.can_fork()]                      # another program's process
_gc.FREEZE_AT_EXIT = True                       # the console script's
seen.append(shards.can_fork())
shards.OWN_PROCESS = False
seen.append(shards.can_fork())
_gc.FREEZE_AT_EXIT, shards.OWN_PROCESS = False, True
seen.append(shards.can_fork())
stop = threading.Event()
thread = threading.Thread(target=stop.wait)
thread.start()
seen.append(shards.can_fork())                  # another thread runs
stop.set(); thread.join()
print(seen)
"""


def test_can_fork_only_in_the_command_s_own_single_threaded_process() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CAN_FORK_SCRIPT], capture_output=True, text=True, check=True
    )
    assert done.stdout.split("\n")[0] == "[False, True, False, True, False]"


# -- the order the merge relies on ------------------------------------------------------

ORDER_SCRIPT = """
import json
from schemaops.gate.command import CheckOptions, _lint
from schemaops.linter import Linter
from schemaops.project import setup_django
from schemaops.selection import Selection, load_graph
cfg = CheckOptions().config()
setup_django(cfg)
loader = load_graph()
selected = Selection().resolve(loader)
pg = cfg.pg_version or 15
done = _lint(Linter(loader, cfg, pg_version=pg), selected, cfg, loader, pg * 10000)
print(json.dumps({
    "findings": [[f.code, f.app, f.migration] for f in done.result.findings],
    "order": done.result.order,
}))
"""


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _assert_ordered(findings: list[tuple[str, str, str]], order: list[Any]) -> set[int]:
    """One process's order: sorted, one entry per finding, one position per migration
    (its place in the plan). Returns the sections seen."""
    assert len(order) == len(findings) > 0
    assert order == sorted(order)
    positions: dict[tuple[str, str], int] = {}
    for (_, app, migration), (section, at) in zip(findings, order, strict=True):
        if section == 0:  # a post-deploy dependency: by migration
            assert at == (app, migration)
        else:
            assert positions.setdefault((app, migration), at) == at
    walked = [at for at in positions.values() if at >= 0]
    assert len(set(walked)) == len(walked)
    return {section for section, _ in order}


@pytest.mark.parametrize("name", ["shapes", "gen", "mixed"])
def test_one_process_lints_in_the_order_the_merge_sorts_by(
    projects: dict[str, Project], name: str
) -> None:
    project = projects[name]
    result = processkit.script_json(project.root, project.env(), ORDER_SCRIPT)
    findings = [tuple(f) for f in result["findings"]]
    sections = _assert_ordered(findings, [_tuples(at) for at in result["order"]])
    if name == "mixed":
        assert sections == {0, 1, 2, 3}  # SO111, the walk, the final state, SO902


@dataclass
class ShopLint:
    loader: Any
    selected: set[tuple[str, str]]
    lint: Callable[[set[tuple[str, str]]], Any]
    linter: Any  # its rules, for the report


@pytest.fixture
def shop_lint(monkeypatch: pytest.MonkeyPatch) -> Iterator[ShopLint]:
    """The demo shop linted in this process, as run_check does."""
    from schemaops.gate.command import CheckOptions, Linted, _lint
    from schemaops.linter import Linter
    from schemaops.selection import Selection, load_graph

    monkeypatch.chdir(SAMPLE)
    cfg = CheckOptions().config()
    loader = load_graph()
    pg = cfg.pg_version or 15

    def lint(keys: set[tuple[str, str]]) -> Linted:
        return _lint(Linter(loader, cfg, pg_version=pg), keys, cfg, loader, pg * 10000)

    yield ShopLint(loader, Selection().resolve(loader), lint, Linter(loader, cfg))


def test_the_demo_shop_in_one_process_is_in_order(shop_lint: ShopLint) -> None:
    result = shop_lint.lint(shop_lint.selected).result
    findings = [(f.code, f.app, f.migration) for f in result.findings]
    assert 2 in _assert_ordered(findings, result.order)  # SO501/SO502 on the final state


def test_parts_linted_one_after_another_merge_into_one_process_s_report(
    shop_lint: ShopLint, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the parent does when every child failed: the parts here, in turn, merged."""
    from schemaops.gate.command import _merged, build_report
    from schemaops.reporting import render

    def report(result: Any, remedies: dict[str, Any]) -> str:
        built = build_report(result, shop_lint.linter)
        built.remedies = remedies
        return render(built, "json")

    monkeypatch.setattr(shards, "MIN_OPERATIONS", 0)
    nodes = shop_lint.loader.graph.nodes
    parts = shards.shares(shop_lint.selected, lambda key: 1 + len(nodes[key].operations), 3)
    assert len(parts) == 3
    whole = shop_lint.lint(shop_lint.selected)
    merged, remedies = _merged([shop_lint.lint(part) for part in parts])
    assert merged.order == whole.result.order
    assert report(merged, remedies) == report(whole.result, whole.remedies)
    assert json.loads(report(merged, remedies))["remedies"]


# -- exit_now: the console script's end ---------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_reader_that_goes_away_early_gets_no_traceback(
    projects: dict[str, Project], fmt: str
) -> None:
    """``| head -c 100`` on a report larger than a pipe holds (the gen project's)."""
    project = projects["gen"]
    writer = _start(project, ["check", "--format", fmt], driver=False)
    head = subprocess.Popen(["head", "-c", "100"], stdin=writer.stdout, stdout=subprocess.PIPE)
    writer.stdout.close()  # head holds the only read end
    first, _ = head.communicate(timeout=300)
    err = writer.stderr.read().decode()
    code = writer.wait(timeout=300)
    whole = _finish(_start(project, ["check", "--format", fmt], driver=False))
    assert len(whole.out) > 1 << 17  # more than a pipe holds: the writer met the closed end
    assert first == whole.out[:100]
    assert err == "", err  # no traceback, no "Exception ignored"
    assert code == 1


def test_the_whole_report_is_on_stdout_when_the_console_script_ends(
    projects: dict[str, Project], tmp_path: Path
) -> None:
    project = projects["gen"]
    report = tmp_path / "report.json"
    written, piped = _runs(
        project,
        (["check", "-j", "2", "--format", "json", "-o", str(report)], {}),
        (["check", "-j", "2", "--format", "json"], {"T_ATEXIT": "1"}),
    )
    filed = _finish_to_file(project, tmp_path / "stdout.json")
    assert written.code == piped.code == filed.code == 1
    assert written.out == b""
    assert piped.out == report.read_bytes() == filed.out
    assert len(piped.out) > 1 << 17
    json.loads(piped.out)
    # it ended with os._exit: the interpreter's exit (its atexit handlers) never ran
    assert "T-ATEXIT" not in piped.err
    assert piped.parts == [2]


def _finish_to_file(project: Project, path: Path) -> Run:
    """The console script with its stdout on a file (block-buffered, not a pipe)."""
    with path.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "schemaops", "check", "-j", "2", "--format", "json"],
            cwd=project.root,
            env=project.env(),
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=300,
        )
    return Run(done.returncode, path.read_bytes(), done.stderr.decode(), 0)
