"""Facts about this process that forking and leaving early depend on."""

from __future__ import annotations

import os
import select
import sys
import threading
from contextlib import suppress


def single_threaded() -> bool:
    """No thread but this one, as far as the platform tells: Python's threads, and on
    Linux every thread of the process (a C extension starts its own, unseen by Python)."""
    if threading.active_count() != 1:
        return False
    with suppress(OSError):
        return len(os.listdir("/proc/self/task")) == 1
    return True


def flush_std_streams() -> None:
    """Flush stdout and stderr, where there are any: a stream closed when the process
    started is None, and a reader that went away fails the flush; neither matters here."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with suppress(OSError, ValueError):
                stream.flush()


def wait_readable(fd: int) -> None:
    """Return once ``fd`` has data or its end, waking up every 0.1 s meanwhile.

    Python runs a signal's handler between bytecodes: a Ctrl-C that lands just before a
    blocking read (after the last check, before the system call) would wait for the
    read to return, as long as the writer takes. Waiting here in short slices sees it at
    once (a signal during the wait interrupts it, one just before shows 0.1 s later).
    """
    while not select.select([fd], [], [], 0.1)[0]:
        pass
