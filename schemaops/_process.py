"""Facts about this process that forking and leaving early depend on."""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import BinaryIO


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


def fork_writer(write: Callable[[BinaryIO], None]) -> tuple[int, int]:
    """Fork a child that runs ``write`` on the write end of a pipe, then ends: (its pid,
    the read end). What fork or pipe raise (OSError) goes to the caller.

    The child never returns and never runs the parent's exit handlers or cleanup (an
    inherited database connection is left alone: closing it would end the parent's);
    it ignores Ctrl-C (the parent handles it and stops the child, :func:`stop_child`).
    It exits 0 once ``write`` returned and the pipe is flushed, 1 on anything else: the
    parent does itself what it did not get.
    """
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        raise
    if pid:
        os.close(write_end)
        return pid, read_end
    status = 1
    try:
        os.close(read_end)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with os.fdopen(write_end, "wb") as out:
            write(out)
        status = 0
    except BaseException:  # the parent does it again, and reports what fails
        pass
    finally:
        os._exit(status)


def stop_child(pid: int) -> None:
    """Kill a child of :func:`fork_writer`, done or not, and reap it."""
    with suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with suppress(OSError):
        os.waitpid(pid, 0)
