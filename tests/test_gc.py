"""The collector pause: frozen objects only in the console script's own process."""

from __future__ import annotations

import gc
import subprocess
import sys

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
