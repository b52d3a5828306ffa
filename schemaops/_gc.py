"""Pause Python's cyclic garbage collector around short, allocation-heavy work.

Loading a migration graph and linting it allocate hundreds of thousands of
objects that all stay alive until the command ends, so every collection pass
scans them for nothing (about a fifth of ``schemaops check``'s time on 1,000
migrations). Reference counting still frees everything it can; the collector
is switched back on afterwards. Not for long-running code (workers).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Set by the console script (``schemaops.cli.main()`` reading sys.argv): the process
# ends when the command does. Not set when a command runs inside another program
# (``call_command``, tests, embedding), which keeps its memory collectable.
FREEZE_AT_EXIT = False


@contextmanager
def gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """The collector off inside; back on after (if it was on before).

    ``freeze``: in the console script only (:data:`FREEZE_AT_EXIT`), move everything
    still alive out of the collector's sight (``gc.freeze()``) before switching it back
    on: otherwise it scans everything the run allocated once more (40 ms after linting
    1,000 migrations), only to find nothing to free, just before the process exits.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if freeze and FREEZE_AT_EXIT:
                gc.freeze()
            gc.enable()


def freeze_loaded() -> None:
    """In the console script only: what was loaded so far stays until exit, out of sight.

    Called once the migration graph is loaded: Django, the project's models and every
    migration module are alive until the process ends. Without this, the first
    :func:`sweep_young` of the walk scans all of them (150,000 objects after loading
    1,000 migrations: 50 ms) for the few thousand renderings it frees. Not in
    another program's process (:data:`FREEZE_AT_EXIT` unset), whose graph may be
    collected later.
    """
    if FREEZE_AT_EXIT:
        gc.freeze()


def exit_now(code: int) -> None:
    """In the console script only: end the process with ``code`` without tearing it down.

    A run of ``check`` holds everything it allocated until the end (see
    :func:`freeze_loaded`); the interpreter's own exit would deallocate it all
    object by object, and finalize every module, for nothing (20 ms after
    linting 1,000 migrations). The output streams are flushed first; nothing
    else is pending then (no thread, no file, no connection of its own: the
    report is written). A no-op in another program's process.
    """
    if not FREEZE_AT_EXIT:
        return
    import os

    from schemaops._process import flush_std_streams

    flush_std_streams()
    os._exit(code)


def sweep_young() -> None:
    """Free the garbage of models rendered for SQL while the collector is paused.

    Rendering a model builds reference cycles (a class, its ``_meta``, its
    fields); with the collector paused they pile up (a gigabyte on a large
    project with ``--sql``). A sweep after a migration collects the two young
    generations, what was allocated since the last sweep, and moves the
    survivors to the oldest generation, which is never scanned while paused:
    each sweep costs what was allocated since the previous one, not what the
    whole run holds (the first one: since the graph was loaded, see
    :func:`freeze_loaded`).
    """
    gc.collect(1)
