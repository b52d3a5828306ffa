"""Facts about this process that forking and leaving early depend on."""

from __future__ import annotations

import os
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
