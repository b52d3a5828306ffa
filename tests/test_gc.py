"""The collector pause: frozen objects only in the console script's own process."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import processkit
from support import SAMPLE

from schemaops import _gc


def test_in_process_commands_leave_nothing_frozen(monkeypatch) -> None:
    monkeypatch.setattr(_gc, "FREEZE_AT_EXIT", False)  # not the console script
    before = gc.get_freeze_count()
    with _gc.gc_paused(freeze=True):
        garbage = [[] for _ in range(1000)]
        assert not gc.isenabled()
    del garbage
    assert gc.isenabled() and gc.get_freeze_count() == before


def test_the_console_script_freezes_before_it_exits() -> None:
    code = (
        "import gc, sys\n"
        "from schemaops import _gc\n"
        "from schemaops.cli import main\n"
        "sys.argv = ['schemaops', '--version']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(_gc.FREEZE_AT_EXIT)\n"
        "with _gc.gc_paused(freeze=True):\n"
        "    keep = [[] for _ in range(1000)]\n"
        "print(gc.get_freeze_count() >= 1000)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["True", "True"]


def _freeze_count_after_loading(console_script: bool) -> tuple[int, int]:
    """(frozen before, frozen after) ``load_graph`` on the sample project, in a fresh process."""
    code = (
        "import gc, django\n"
        "from schemaops import _gc\n"
        f"_gc.FREEZE_AT_EXIT = {console_script}\n"
        "django.setup()\n"
        "from schemaops.selection import load_graph\n"
        "before = gc.get_freeze_count()\n"
        "loader = load_graph()\n"
        "assert loader.disk_migrations\n"
        "print(before, gc.get_freeze_count())\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings"}
    before, after = processkit.script_output(SAMPLE, env, code).split()
    return int(before), int(after)


def test_the_console_script_freezes_the_loaded_graph() -> None:
    """The walk's sweeps then scan only what the walk allocated, not Django and the graph."""
    before, after = _freeze_count_after_loading(console_script=True)
    assert after > before + 10_000


def test_loading_in_another_program_freezes_nothing() -> None:
    before, after = _freeze_count_after_loading(console_script=False)
    assert after == before
