"""Migration files compiled in a forked child while Django imports them (schemaops._precompile).

Real files, real forks; nothing under test is mocked. A project of 4 apps x 30 migrations
(bench/gen_project.py; one app's migrations moved elsewhere by MIGRATION_MODULES, files
Django skips, an app whose MIGRATION_MODULES is None) is generated once for the module.

* ``migration_files()``: the files Django's ``MigrationLoader.load_disk`` imports, per app
  as installed (a subprocess records what Django really imports; ``sys.modules`` order).
* The console script in a subprocess (``python -c DRIVER check ...``, as in
  tests/gate/test_shards.py): the driver wraps ``start``, ``Precompiled.take``/``close``
  and the child's ``_send`` and reports on stderr (``T-...`` lines) who compiled what, the
  code every migration module was given (against ``compile()`` of the file) and whether
  the child was reaped. ``check --format json`` writes the same bytes with the child,
  without it (``MIN_FILES`` raised), and when the child fails: killed after k files, sent
  code of other bytes for one file, never sends the file with a SyntaxError (same one-line
  error, status 2). Ctrl-C or a kill of the parent leaves no child behind.
* ``start()`` forks only in its own process, single-threaded, from ``MIN_FILES`` files;
  ``Precompiled.take`` on a pipe written here refuses what it must (other bytes, a
  truncated stream, a file not asked for, marshal garbage).

Every run sets PYTHONDONTWRITEBYTECODE: with a ``.pyc`` next to a file, Python compiles
nothing, and the child would have nothing to do.

Found by these tests, and fixed: Django < 6 imports an app's migrations in the order of
a set of names, not by name; migration_files() listed files Django never imports (odd
names, a migrations folder without ``__init__.py``); start() did not see threads started
outside ``threading``; with stderr closed, start() failed and check wrote no report.
"""

from __future__ import annotations

import importlib.util
import io
import json
import marshal
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import processkit
import pytest
from support import ROOT

from schemaops import _precompile

APPS = 4
MIGRATIONS = 30  # per app: 120 files of the project's own, above MIN_FILES
MARKED = "app_03/migrations/0015_step.py"  # holds T_MARK = "disk"
BROKEN = "app_01/migrations/0017_step.py"  # a SyntaxError in the broken copy


# -- the project -------------------------------------------------------------------------

SETTINGS_EXTRA = """
INSTALLED_APPS += ["plain", "off"]
# app_02's migrations live elsewhere; off's folder is never read (None: no migrations)
MIGRATION_MODULES = {"app_02": "elsewhere.app_02_migrations", "off": None}
"""

SKIPPED = {  # in app_01/migrations: Django imports none of them
    "_helpers.py": "VALUE = 1\n",
    "~0031_draft.py": "this is not python (\n",
    "0031_notes.txt": "not a module\n",
    "0032_step.json": "{}\n",
}


@dataclass(frozen=True)
class Project:
    root: Path
    settings: str = "benchproj.settings"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("T_", "BENCH_")) and k != "PYTHONHASHSEED"
        }
        env.update(
            PYTHONPATH=str(self.root),
            DJANGO_SETTINGS_MODULE=self.settings,
            BENCH_DB="schemaops_offline",  # check is offline: any name works
            NO_COLOR="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        env.update(extra)
        return env

    def own_files(self) -> list[str]:
        """The project's migration files (not Django's own apps'), sorted."""
        folders = [self.root / f"app_{i:02d}" / "migrations" for i in range(APPS)]
        folders[2] = self.root / "elsewhere" / "app_02_migrations"
        return sorted(str(p) for folder in folders for p in folder.glob("0*.py"))


def _gen_project() -> Any:
    spec = importlib.util.spec_from_file_location("gen_project", ROOT / "bench/gen_project.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _write_project(root: Path) -> Project:
    _gen_project().generate(root, APPS, MIGRATIONS)
    with open(root / "benchproj" / "settings.py", "a") as settings:
        settings.write(SETTINGS_EXTRA)
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "__init__.py").write_text("")
    (root / "app_02" / "migrations").rename(root / "elsewhere" / "app_02_migrations")
    for app in ("plain", "off"):
        (root / app).mkdir()
        (root / app / "__init__.py").write_text("")
    (root / "off" / "migrations").mkdir()
    (root / "off" / "migrations" / "__init__.py").write_text("")
    shutil.copy(root / "app_00/migrations/0001_initial.py", root / "off/migrations/0001_initial.py")
    for name, text in SKIPPED.items():
        (root / "app_01" / "migrations" / name).write_text(text)
    # a docstring and an assert: code that -O / -OO (optimize) would compile otherwise
    text = (root / MARKED).read_text()
    docstring = '"""A migration with a docstring."""\n'
    (root / MARKED).write_text(f'{docstring}{text}\nT_MARK = "disk"\nassert T_MARK\n')
    return Project(root)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return _write_project(tmp_path_factory.mktemp("precompile") / "gen")


@pytest.fixture(scope="module")
def broken(project: Project, tmp_path_factory: pytest.TempPathFactory) -> Project:
    """The project with a SyntaxError in one migration file (in the middle of the order)."""
    root = tmp_path_factory.mktemp("precompile_broken") / "gen"
    shutil.copytree(project.root, root)
    with open(root / BROKEN, "a") as bad:
        bad.write("\ndef broken(:\n    pass\n")
    return Project(root)


def _no_pyc(project: Project) -> None:
    assert not list(project.root.rglob("__pycache__")), "a .pyc would spare Python compiling"


# -- 1. migration_files(): what Django imports, in its order -----------------------------

ORDER_SCRIPT = """
import importlib.machinery, json, sys
import django
django.setup()
from django.db.migrations.loader import MigrationLoader
from schemaops import _precompile

listed = _precompile.migration_files()
before = set(sys.modules)
compiled = []  # every file Python compiles from source while Django loads
loader_class = importlib.machinery.SourceFileLoader
real = loader_class.source_to_code

def source_to_code(self, data, path, *args, **kwargs):
    compiled.append(path)
    return real(self, data, path, *args, **kwargs)

loader_class.source_to_code = source_to_code
loader = MigrationLoader(None, ignore_no_migrations=True, load=False)
loader.load_disk()
files = {sys.modules[type(m).__module__].__file__ for m in loader.disk_migrations.values()}
imported = [  # modules in the order they were first imported (sys.modules keeps it)
    m.__file__ for name, m in sys.modules.items()
    if name not in before and getattr(m, "__file__", None) in files
]
print(json.dumps({"listed": listed, "imported": imported, "compiled": compiled,
                  "unmigrated": sorted(loader.unmigrated_apps)}))
"""


@pytest.fixture(scope="module")
def django_order(project: Project) -> dict[str, Any]:
    """What migration_files() lists and what Django's load_disk imports, in one process
    (PYTHONHASHSEED fixed: Django < 6 iterates a set of names)."""
    done = subprocess.run(
        [sys.executable, "-c", ORDER_SCRIPT],
        cwd=project.root,
        env=project.env(PYTHONHASHSEED="0"),
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def _folder(path: str) -> str:
    return os.path.dirname(path)


def _runs_of(paths: list[str]) -> list[str]:
    """The folders of ``paths``, one entry per run of the same folder."""
    out: list[str] = []
    for path in paths:
        if not out or out[-1] != _folder(path):
            out.append(_folder(path))
    return out


def test_migration_files_are_the_files_django_imports(
    project: Project, django_order: dict[str, Any]
) -> None:
    listed, imported = django_order["listed"], django_order["imported"]
    own = project.own_files()
    assert len(own) == APPS * MIGRATIONS
    # Django really imported the moved app's files, and those of its own apps (auth ...)
    assert set(own) < set(imported)
    assert any("django/contrib/auth/migrations" in p for p in imported)
    assert "off" in django_order["unmigrated"] and "plain" in django_order["unmigrated"]
    assert sorted(listed) == sorted(imported)  # the same files, each once
    assert not [p for p in listed if os.path.basename(p) in SKIPPED or "/off/" in p]
    # app by app, as installed: auth, contenttypes, app_00, app_01, app_02 (elsewhere: a
    # folder that sorts after every app_NN), app_03
    assert _runs_of(listed) == _runs_of(imported)
    assert _runs_of(listed)[-APPS:] == [
        str(project.root / folder)
        for folder in (
            "app_00/migrations",
            "app_01/migrations",
            "elsewhere/app_02_migrations",
            "app_03/migrations",
        )
    ]
    # the files compiled from source while loading are the project's (Django's have a .pyc)
    assert [p for p in django_order["compiled"] if p in set(listed)] == [
        p for p in imported if p in set(own)
    ]


def test_migration_files_come_in_the_order_django_imports_them(
    django_order: dict[str, Any],
) -> None:
    assert django_order["listed"] == django_order["imported"]


EDGE_SETTINGS = 'SECRET_KEY = "x"\nINSTALLED_APPS = ["edge", "nsapp"]\nDATABASES = {}\n'
EDGE_MIGRATION = (
    "from django.db import migrations\n\n\n"
    "class Migration(migrations.Migration):\n    dependencies = []\n    operations = []\n"
)


def test_odd_files_django_does_not_import_are_not_listed(tmp_path: Path) -> None:
    (tmp_path / "edgeproj").mkdir()
    (tmp_path / "edgeproj" / "__init__.py").write_text("")
    (tmp_path / "edgeproj" / "settings.py").write_text(EDGE_SETTINGS)
    for folder in ("edge/migrations/0003_pkg", "nsapp/migrations"):
        (tmp_path / folder).mkdir(parents=True)
    for init in ("edge", "edge/migrations", "edge/migrations/0003_pkg", "nsapp"):
        (tmp_path / init / "__init__.py").write_text("")
    for name in ("edge/0001_initial", "edge/0002_x.bak", "edge/0003_pkg", "nsapp/0001_initial"):
        app, module = name.split("/")
        (tmp_path / app / "migrations" / f"{module}.py").write_text(EDGE_MIGRATION)
    done = subprocess.run(
        [sys.executable, "-c", ORDER_SCRIPT],
        cwd=tmp_path,
        env=Project(tmp_path, "edgeproj.settings").env(),
        capture_output=True,
        text=True,
        check=True,
    )
    found = json.loads(done.stdout)
    assert found["imported"] == [str(tmp_path / "edge/migrations/0001_initial.py")]
    assert found["listed"] == found["imported"]


# -- 2, 3, 5. the console script -----------------------------------------------------------

# Run as `python -c DRIVER check ...`: schemaops.cli.main() reads sys.argv, as the console
# script does. On stderr: T-START (the child's pid or null, and migration_files()),
# T-CHILD (the child's pid, from the child), T-TAKE (the parent's first take), T-CLOSE
# (each close: the child reaped?), T-KEPT (after load_disk: every take of the parent, and
# for each migration module the code it was given against compile() of its file) and
# T-LOADED (as load_graph returns: the child reaped, this process's children).
# T_MIN_FILES sets MIN_FILES; the child dies after T_KILL_AFTER files, hangs after
# T_HANG_AFTER, compiles other bytes for the file ending in T_ALTER; the parent sleeps
# T_PARENT_SLOW seconds after each take.
DRIVER = r"""
import hashlib, io, json, marshal, os, signal, sys, time
from pathlib import Path
from schemaops import _precompile, selection, source

def say(tag, value=None):
    os.write(2, f"{tag} {json.dumps(value)}\n".encode())

def env(name):
    return os.environ.get(name)

def reaped(pid):  # waited for: no child of ours any more (not running, not a zombie)
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False

def children():
    me, out = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:
            out.append(int(stat.parent.name))
    return out

if env("T_MIN_FILES"):
    _precompile.MIN_FILES = int(env("T_MIN_FILES"))
Precompiled = _precompile.Precompiled
real_start, real_send = _precompile.start, _precompile._send
real_take, real_close = Precompiled.take, Precompiled.close
real_keep, real_freeze = source.keep_compiled, selection.freeze_loaded
pids, calls, sent, given = [], [], [], {}  # given: the code take() gave, by file

def start(own_process):
    helper = real_start(own_process)
    pids.append(helper._pid if helper else None)
    say("T-START", {"pid": pids[-1], "files": _precompile.migration_files()})
    return helper

def take(self, path, data):
    if not calls:
        say("T-TAKE")
    code = real_take(self, path, data)
    calls.append((path, code is not None))
    if code is not None:
        given[path] = code
    if env("T_PARENT_SLOW"):
        time.sleep(float(env("T_PARENT_SLOW")))
    return code

def close(self):
    real_close(self)
    say("T-CLOSE", {"reaped": reaped(self._pid)})

def send(out, path):  # in the child
    if not sent:
        say("T-CHILD", os.getpid())
    sent.append(path)
    if env("T_KILL_AFTER") and len(sent) > int(env("T_KILL_AFTER")):
        os.kill(os.getpid(), signal.SIGKILL)
    if env("T_HANG_AFTER") and len(sent) > int(env("T_HANG_AFTER")):
        time.sleep(60)
    if env("T_ALTER") and path.endswith(env("T_ALTER")):
        with open(path, "rb") as handle:
            real_bytes = handle.read()
        altered = real_bytes.replace(b'T_MARK = "disk"', b'T_MARK = "child"')
        assert altered != real_bytes
        _precompile.open = lambda *args, **kwargs: io.BytesIO(altered)  # the child reads these
        try:
            return real_send(out, path)
        finally:
            del _precompile.open
    return real_send(out, path)

def keep(seen, paths):
    real_keep(seen, paths)
    kept = {}
    for path in sorted(paths):
        with open(path, "rb") as handle:
            fresh = compile(handle.read(), path, "exec", dont_inherit=True)
        code = seen[path][0]
        # marshal version 2: no back-references, whose use depends on reference counts
        dumped = marshal.dumps(code, 2)
        kept[path] = {
            "equal": code == fresh and dumped == marshal.dumps(fresh, 2),
            "digest": hashlib.sha256(dumped).hexdigest(),
            "child's": code is given.get(path),  # the module runs the child's code
        }
    mark = getattr(sys.modules.get("app_03.migrations.0015_step"), "T_MARK", None)
    say("T-KEPT", {"calls": calls, "kept": kept, "mark": mark})

def freeze_loaded():
    say("T-LOADED", {"reaped": [reaped(p) for p in pids if p], "children": children()})
    real_freeze()

_precompile.start, _precompile._send = start, send
Precompiled.take, Precompiled.close = take, close
source.keep_compiled, selection.freeze_loaded = keep, freeze_loaded
from schemaops.cli import main
main()
"""


@dataclass(frozen=True)
class Run(processkit.Run):
    def said(self, tag: str) -> list[Any]:
        """The values of the driver's ``tag`` lines, in order."""
        return [
            json.loads(line.split(" ", 1)[1])
            for line in self.err.splitlines()
            if line.startswith(f"{tag} ")
        ]

    def one(self, tag: str) -> Any:
        values = self.said(tag)
        assert len(values) == 1, (tag, self.err)
        return values[0]

    @property
    def stderr(self) -> list[str]:
        """What the command itself wrote on stderr (not the driver)."""
        return [line for line in self.err.splitlines() if not line.startswith("T-")]

    @property
    def taken(self) -> set[str]:
        return {path for path, hit in self.one("T-KEPT")["calls"] if hit}

    @property
    def refused(self) -> set[str]:
        return {path for path, hit in self.one("T-KEPT")["calls"] if not hit}

    @property
    def digests(self) -> dict[str, str]:
        return {path: k["digest"] for path, k in self.one("T-KEPT")["kept"].items()}


def _start(
    project: Project, args: list[str], env: dict[str, str] | None = None, driver: bool = True
) -> Any:
    # a session of its own: a Ctrl-C of its own (killpg), not pytest's
    return processkit.start(
        project.root, project.env(**(env or {})), args, DRIVER if driver else None, True
    )


def _finish(proc: Any, timeout: float = 120) -> Run:
    return Run(*processkit.finish(proc, timeout))


def _runs(project: Project, *envs: dict[str, str]) -> list[Run]:
    """``check --format json`` under the driver with each env, two at a time (2 cores)."""
    command = ["check", "--format", "json"]
    done: list[Run] = []
    for i in range(0, len(envs), 2):
        started = [_start(project, command, env) for env in envs[i : i + 2]]
        done.extend(_finish(proc) for proc in started)
    return done


OFF = {"T_MIN_FILES": str(10**9)}  # no child: the parent compiles every file


@pytest.fixture(scope="module")
def baseline(project: Project) -> dict[str, Run]:
    """``check --format json`` with the child ("on"), without it ("off"), and the plain
    console script (``python -m schemaops``), written once for the module."""
    _no_pyc(project)
    on, off = _runs(project, {}, OFF)
    plain = _finish(_start(project, ["check", "--format", "json"], driver=False))
    _no_pyc(project)
    return {"on": on, "off": off, "plain": plain}


def _assert_closed(run: Run) -> None:
    """The child was reaped when load_graph returned, and no other child was left."""
    pid = run.one("T-START")["pid"]
    assert pid is not None
    assert run.said("T-CLOSE") and all(c["reaped"] for c in run.said("T-CLOSE"))
    assert run.one("T-LOADED") == {"reaped": [True], "children": []}


def _assert_same_report(run: Run, off: Run) -> None:
    assert (run.code, run.out) == (off.code, off.out)
    assert run.stderr == off.stderr == []
    assert run.digests == off.digests  # every module: the same code


def test_the_child_compiles_every_migration_file_and_the_code_is_python_s(
    project: Project, baseline: dict[str, Run]
) -> None:
    on = baseline["on"]
    own = set(project.own_files())
    start = on.one("T-START")
    assert start["pid"] is not None and on.one("T-CHILD") == start["pid"]
    assert own < set(start["files"])
    assert on.taken == own  # every file of the project came from the child ...
    assert not on.refused & set(start["files"])  # ... none was compiled here
    kept = on.one("T-KEPT")["kept"]
    assert own <= set(kept)
    assert all(kept[path]["child's"] for path in own)  # the very code objects it sent
    assert all(kept[path]["equal"] for path in own)  # compile()'s code, filename and all
    assert on.one("T-KEPT")["mark"] == "disk"
    _assert_closed(on)


def test_the_report_is_the_same_bytes_with_or_without_the_child(
    baseline: dict[str, Run],
) -> None:
    on, off, plain = baseline["on"], baseline["off"], baseline["plain"]
    assert on.code == 1 and len(on.out) > 5000  # findings: a real report
    report = json.loads(on.out)
    assert report["summary"]["migrations"] == APPS * MIGRATIONS
    assert off.one("T-START")["pid"] is None and not off.taken
    assert not off.said("T-CHILD") and not off.said("T-CLOSE")
    assert all(k["equal"] and not k["child's"] for k in off.one("T-KEPT")["kept"].values())
    _assert_same_report(on, off)
    assert (plain.code, plain.out, plain.err) == (off.code, off.out, "")


@pytest.mark.parametrize("after", [0, 60])
def test_a_child_killed_midway_changes_nothing(
    project: Project, baseline: dict[str, Run], after: int
) -> None:
    """The child SIGKILLs itself after ``after`` files: the parent takes what arrived (a
    record still in the child's buffer is lost) and compiles the rest itself."""
    (run,) = _runs(project, {"T_KILL_AFTER": str(after)})
    _assert_same_report(run, baseline["off"])
    files = run.one("T-START")["files"]
    own = set(project.own_files())
    assert run.taken <= set(files[:after])
    assert own - set(files[:after]) <= run.refused
    assert run.taken | (run.refused & own) == own
    if after:
        assert len(run.taken) >= 10  # most of what was sent arrived
    assert run.one("T-KEPT")["mark"] == "disk"
    _assert_closed(run)


def test_code_compiled_from_other_bytes_is_not_used(
    project: Project, baseline: dict[str, Run]
) -> None:
    """The child compiles ``T_MARK = "child"`` for one file (as if it changed between the
    child's read and the parent's): the parent compiles the bytes it read."""
    (run,) = _runs(project, {"T_ALTER": MARKED})
    _assert_same_report(run, baseline["off"])
    marked = str(project.root / MARKED)
    assert run.refused & set(project.own_files()) == {marked}
    assert run.taken == set(project.own_files()) - {marked}
    assert run.one("T-KEPT")["mark"] == "disk"
    assert run.one("T-KEPT")["kept"][marked]["equal"]
    _assert_closed(run)


def test_a_syntax_error_is_the_same_one_line_error(broken: Project) -> None:
    on, off = _runs(broken, {}, OFF)
    assert on.code == off.code == 2
    assert on.out == off.out == b""
    assert on.stderr == off.stderr
    (line,) = on.stderr
    assert line.startswith(
        f"schemaops: error: broken migration graph: {BROKEN} does not import: SyntaxError:"
    ), line
    assert "Traceback" not in on.err
    assert on.one("T-START")["pid"] is not None  # the child was there ...
    assert not on.said("T-KEPT")  # (the load failed)
    assert on.said("T-CLOSE") and all(c["reaped"] for c in on.said("T-CLOSE"))
    assert off.one("T-START")["pid"] is None


CLOSED_STDERR = 'exec "$0" "$@" 2>&-'  # sh: run the command with file descriptor 2 closed
NO_CHILD = (
    "from schemaops import _precompile\n"
    "_precompile.MIN_FILES = 10**9\n"
    "from schemaops.cli import main\n"
    "main()\n"
)


def test_a_closed_stderr_changes_nothing(project: Project) -> None:
    command = ["check", "-j", "1", "--format", "json"]
    on, off = (
        subprocess.Popen(
            ["sh", "-c", CLOSED_STDERR, sys.executable, *how, *command],
            cwd=project.root,
            env=project.env(),
            stdout=subprocess.PIPE,
        )
        for how in (["-m", "schemaops"], ["-c", NO_CHILD])
    )
    off_out, _ = off.communicate(timeout=120)
    on_out, _ = on.communicate(timeout=120)
    assert len(off_out) > 5000  # the report, whatever the status says
    assert (on.returncode, on_out) == (off.returncode, off_out)


def _state(pid: int) -> str | None:
    """The state of process ``pid`` (R, S, Z, ...), None when there is none."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _wait_for(proc: Any, *tags: str, timeout: float = 30) -> dict[str, str]:
    """Read the driver's stderr until every tag was said; the lines read, by tag."""
    seen: dict[str, str] = {}
    buffered = b""
    deadline = time.monotonic() + timeout
    while not set(tags) <= set(seen):
        assert time.monotonic() < deadline, seen
        ready, _, _ = select.select([proc.stderr], [], [], 0.5)
        if not ready:
            continue
        chunk = os.read(proc.stderr.fileno(), 65536)
        assert chunk, f"the run ended early: {buffered.decode()}"
        buffered += chunk
        for line in buffered.decode().splitlines():
            tag, _, value = line.partition(" ")
            seen.setdefault(tag, value)
    return seen


def test_ctrl_c_leaves_no_child(project: Project) -> None:
    """The child hangs after 20 files; Ctrl-C (SIGINT to the
    process group, as a terminal sends it) while the parent waits for it: the run ends as
    an interrupted run does (status 130, no traceback), the child killed and reaped."""
    proc = _start(project, ["check", "--format", "json"], {"T_HANG_AFTER": "20"})
    try:
        seen = _wait_for(proc, "T-CHILD", "T-TAKE")
        child = int(seen["T-CHILD"])
        time.sleep(0.3)  # the parent reads the pipe, the child sleeps
        assert _state(child) == "S"
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    lines = err.decode().splitlines()
    said = "\n".join(line for line in lines if not line.startswith("T-"))
    assert said.endswith("schemaops: aborted") and "Traceback" not in said, said
    assert 'T-CLOSE {"reaped": true}' in lines  # reaped before the parent exited
    assert _state(child) is None and out == b""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_parent_leaves_no_child(project: Project, how: signal.Signals) -> None:
    """The parent dies without closing (no handler runs) while the child is sending: the
    child's next write finds no reader and it ends (an orphan: gone, or a zombie of init)."""
    proc = _start(project, ["check", "--format", "json"], {"T_PARENT_SLOW": "0.05"})
    try:
        seen = _wait_for(proc, "T-CHILD", "T-TAKE")
        child = int(seen["T-CHILD"])
        assert _state(child) in ("R", "S")
        os.kill(proc.pid, how)
        # the child holds the parent's stdout and stderr: they end when it does
        proc.communicate(timeout=30)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -how
    deadline = time.monotonic() + 10
    while _state(child) not in (None, "Z"):
        assert time.monotonic() < deadline, _state(child)
        time.sleep(0.05)


# -- 4. start() and Precompiled.take -------------------------------------------------------

START_SCRIPT = """
import _thread, json, marshal, os, threading, time
import django
django.setup()
from schemaops import _gc, _precompile, selection

forks = []
real_fork = os.fork

def fork():
    forks.append(1)
    return real_fork()

os.fork = fork

def reaped(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False

files = _precompile.migration_files()

def attempt(own_process):
    before = len(forks)
    helper = _precompile.start(own_process)
    out = {"helper": helper is not None, "forks": len(forks) - before}
    if helper is not None:
        pid = helper._pid
        with open(files[-1], "rb") as handle:
            data = handle.read()
        code = helper.take(files[-1], data)  # the last: every record before it is read
        fresh = compile(data, files[-1], "exec", dont_inherit=True)
        out["took"] = code is not None and marshal.dumps(code, 2) == marshal.dumps(fresh, 2)
        out["alive before close"] = not reaped(pid)
        helper.close()
        out["reaped"] = reaped(pid)
    return out

found = {"files": len(files), "not own process": attempt(False)}
stop = threading.Event()
thread = threading.Thread(target=stop.wait)
thread.start()
found["another thread"] = attempt(True)
stop.set()
thread.join()
# a thread threading does not know of: started by _thread, as C extensions start theirs
running, leave = _thread.allocate_lock(), _thread.allocate_lock()
running.acquire()
leave.acquire()

def low_level():
    running.release()
    leave.acquire()

_thread.start_new_thread(low_level, ())
running.acquire()  # it runs
found["a thread threading does not count"] = attempt(True)
leave.release()
for _ in range(500):  # until it has ended: the process is one thread again
    if len(os.listdir("/proc/self/task")) == 1:
        break
    time.sleep(0.01)
_precompile.MIN_FILES = len(files) + 1
found["one file short"] = attempt(True)
_precompile.MIN_FILES = len(files)
found["just enough"] = attempt(True)

_gc.FREEZE_AT_EXIT = True  # as the console script: load_graph forks, and closes
pids = []
real_start = _precompile.start

def start(own_process):
    helper = real_start(own_process)
    pids.append(helper._pid if helper else None)
    return helper

_precompile.start = start
before = len(forks)
loader = selection.load_graph()
found["load_graph"] = {
    "forks": len(forks) - before,
    "reaped": [reaped(pid) for pid in pids if pid],
    "migrations": len(loader.disk_migrations),
}
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def started(project: Project) -> dict[str, Any]:
    return dict(processkit.script_json(project.root, project.env(), START_SCRIPT))


@pytest.mark.parametrize(
    "case",
    [
        "not own process",
        "another thread",
        "one file short",
        "a thread threading does not count",
    ],
)
def test_start_does_not_fork(started: dict[str, Any], case: str) -> None:
    assert started[case] == {"helper": False, "forks": 0}


def test_start_forks_from_min_files_on_and_close_reaps(started: dict[str, Any]) -> None:
    assert started["files"] > APPS * MIGRATIONS  # and Django's auth, contenttypes
    assert started["just enough"] == {
        "helper": True,
        "forks": 1,
        "took": True,
        "alive before close": True,
        "reaped": True,
    }


def test_load_graph_returns_with_its_child_reaped(started: dict[str, Any]) -> None:
    assert started["load_graph"] == {
        "forks": 1,
        "reaped": [True],
        "migrations": started["files"],
    }


@pytest.fixture
def sleeper() -> Iterator[int]:
    """A child process standing in for the compiling child: close() kills and reaps it."""
    pid = os.posix_spawn(shutil.which("sleep") or "/bin/sleep", ["sleep", "60"], os.environ)
    yield pid
    with suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG) == (0, 0):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


@pytest.fixture
def files(tmp_path: Path) -> list[str]:
    """Five small migration-like files, each with a constant of its own."""
    out = []
    for i in range(5):
        path = tmp_path / f"000{i}_file.py"
        path.write_text(
            f"from django.db import migrations\n\nVALUE = {i}\n\n\n"
            "class Migration(migrations.Migration):\n    operations = []\n"
        )
        out.append(str(path))
    return out


def _record(path: str) -> bytes:
    """The child's record of ``path``, written by the child's own code."""
    out = io.BytesIO()
    _precompile._send(out, path)
    return out.getvalue()


def _forged(path: str, payload: bytes, source: bytes | None = None) -> bytes:
    """A record for ``path`` with any payload, for the hash of ``source`` (the file's)."""
    if source is None:
        source = Path(path).read_bytes()
    name = path.encode()
    return _precompile._HEADER.pack(len(name), len(payload), hash(source)) + name + payload


@contextmanager
def _pipe(sleeper: int, data: bytes, paths: list[str], eof: bool = True) -> Iterator[Any]:
    """A Precompiled reading ``data`` (then the end of the stream, when ``eof``)."""
    read_end, write_end = os.pipe()
    os.write(write_end, data)  # small: fits in the pipe
    if eof:
        os.close(write_end)
    helper = _precompile.Precompiled(sleeper, os.fdopen(read_end, "rb"), set(paths))
    try:
        yield helper, (None if eof else write_end)
    finally:
        helper.close()
        if not eof:
            with suppress(OSError):
                os.close(write_end)


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """A call that would wait for the pipe fails instead of hanging the test."""

    def expired(signum: int, frame: Any) -> None:
        raise TimeoutError("waited for the pipe")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _value(code: Any) -> Any:
    namespace: dict[str, Any] = {}
    exec(code, namespace)
    return namespace["VALUE"]


def _source(path: str) -> bytes:
    return Path(path).read_bytes()


def test_take_gives_the_code_of_the_same_bytes_in_any_order(files: list[str], sleeper: int) -> None:
    a, b, c = files[:3]
    with _pipe(sleeper, _record(b) + _record(a), [a, b, c]) as (helper, _):
        code = helper.take(a, _source(a))  # b is read first and kept
        fresh = compile(_source(a), a, "exec", dont_inherit=True)
        assert code is not None and marshal.dumps(code, 2) == marshal.dumps(fresh, 2)
        assert _value(helper.take(b, _source(b))) == 1
        assert not processkit.reaped(sleeper)
        assert helper.take(a, _source(a)) is None  # taken once; c never sent: the end
        assert helper.take(c, _source(c)) is None
        assert processkit.reaped(sleeper)  # the end of the stream closed it


def test_take_refuses_code_of_other_bytes(files: list[str], sleeper: int) -> None:
    a, b = files[:2]
    with _pipe(sleeper, _record(a) + _record(b), [a, b]) as (helper, _):
        assert helper.take(a, _source(a) + b"\nVALUE = 7\n") is None
        assert _value(helper.take(b, _source(b))) == 1


@pytest.mark.parametrize("cut", ["in the header", "in the path", "in the code"])
def test_a_truncated_stream_gives_none_and_closes(files: list[str], sleeper: int, cut: str) -> None:
    a, b, c = files[:3]
    record = _record(b)
    header = _precompile._HEADER.size
    at = {"in the header": header - 3, "in the path": header + 5, "in the code": -10}[cut]
    with _pipe(sleeper, _record(a) + record[:at], [a, b, c]) as (helper, _):
        assert _value(helper.take(a, _source(a))) == 0
        assert not processkit.reaped(sleeper)
        assert helper.take(b, _source(b)) is None
        assert processkit.reaped(sleeper)
        assert helper.take(c, _source(c)) is None  # closed: not waited for


def test_a_path_not_asked_for_is_not_waited_for(files: list[str], sleeper: int) -> None:
    a, b = files[:2]
    with _pipe(sleeper, b"", [a], eof=False) as (helper, write_end):
        with _deadline(5):
            assert helper.take(b, _source(b)) is None  # the pipe is open and empty
        os.write(write_end, _record(a))
        os.close(write_end)
        with _deadline(5):
            assert _value(helper.take(a, _source(a))) == 0


def test_marshal_garbage_gives_none(files: list[str], sleeper: int) -> None:
    """Records whose hash is right but whose payload is no code object; the stream goes
    on after them."""
    whole = marshal.dumps(compile(_source(files[0]), files[0], "exec"))
    payloads = [
        b"",  # nothing to load
        b"\x00garbage",  # no type code marshal knows
        marshal.dumps(42),  # not code
        whole[: len(whole) // 2],  # cut short
    ]
    stream = b"".join(_forged(path, data) for path, data in zip(files, payloads, strict=False))
    with _pipe(sleeper, stream + _record(files[4]), files) as (helper, _):
        assert [helper.take(path, _source(path)) for path in files[:4]] == [None] * 4
        assert _value(helper.take(files[4], _source(files[4]))) == 4
