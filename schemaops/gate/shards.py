"""Lint a large selection in several processes at once, a share of its apps each.

``schemaops check`` spends nearly all its time on work that is independent from
one app to the next once the project state before each migration is known:
generating and reading each operation's SQL, running the rules, planning the
remedies. So on a machine with more than one CPU the console script forks
after the migration graph is loaded: every process walks the whole graph (the
state and the database facts advance for every migration, which costs little)
and does that work for its own share of the selected apps; the parent merges
the findings and remedies back into the order one process gives them
(:attr:`schemaops.linter.LintResult.order`). The result is the same, finding
for finding and byte for byte (tests/gate/test_shards.py holds it so on every
labelled case and the benchmark project).

Why apps: everything a rule or the planner relates across migrations stays in
one app (a model's operations, the recipe that renames or drops it later, the
files ``fix`` writes); what crosses apps (foreign keys, moves, SQL elsewhere in
the graph) is read from the state and the graph, which every process has whole.

Only where it is safe and worth it: in the console script (the process ends
with the command; never inside ``call_command`` or another program), with
``fork`` (Linux), with no other thread running, on a selection of at least
:data:`MIN_OPERATIONS` operations in two apps or more. A child that fails in
any way (a crash, a signal, an error) has its share done again in the parent,
where an error surfaces as it would without sharing.
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Callable, Iterable
from contextlib import suppress
from typing import Any, TypeVar

from schemaops import _gc
from schemaops._process import (
    flush_std_streams,
    fork_writer,
    single_threaded,
    stop_child,
    wait_readable,
)

MigrationKey = tuple[str, str]
T = TypeVar("T")

# Below this many operations a second process costs more than it saves (a fork and its
# copied pages, about 20 ms on a large project, against about 0.5 ms per operation).
MIN_OPERATIONS = 200


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the platform tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


# Is this process the command's own (it ends when the command does)? None: when it is
# the console script's (schemaops.cli.main() reading sys.argv). Tests set it.
OWN_PROCESS: bool | None = None


def can_fork() -> bool:
    """Is forking this process safe: the console script's own, on Linux, single-threaded?"""
    own = _gc.FREEZE_AT_EXIT if OWN_PROCESS is None else OWN_PROCESS
    return own and sys.platform.startswith("linux") and hasattr(os, "fork") and single_threaded()


def shares(
    selected: Iterable[MigrationKey], weight: Callable[[MigrationKey], int], jobs: int
) -> list[set[MigrationKey]]:
    """``selected`` cut into at most ``jobs`` shares of whole apps, of about equal work.

    ``weight``: the work of one migration (its operations). Apps go, heaviest first,
    to the lightest share so far (ties: by label, so the cut is the same every run).
    One share (no cut) when there is one app, too little work, or ``jobs`` < 2.
    """
    by_app: dict[str, set[MigrationKey]] = {}
    work: dict[str, int] = {}
    for key in selected:
        by_app.setdefault(key[0], set()).add(key)
        work[key[0]] = work.get(key[0], 0) + weight(key)
    everything = set().union(*by_app.values()) if by_app else set()
    if jobs < 2 or len(by_app) < 2 or sum(work.values()) < MIN_OPERATIONS:
        return [everything]
    bins: list[tuple[int, set[MigrationKey]]] = [(0, set()) for _ in range(min(jobs, len(by_app)))]
    for app in sorted(by_app, key=lambda a: (-work[a], a)):
        lightest = min(range(len(bins)), key=lambda i: bins[i][0])
        total, keys = bins[lightest]
        bins[lightest] = (total + work[app], keys | by_app[app])
    return [keys for _, keys in bins if keys]


def in_processes(parts: list[Any], work: Callable[[Any], T]) -> list[T]:
    """``[work(part) for part in parts]``, the first part here, each other in a child.

    A child sends its result back pickled. One that fails (exits non-zero, is
    killed, sends nothing), or cannot be started (fork fails), has its part done
    here instead. If the work here
    raises, the children are stopped before the error goes on.
    """
    if len(parts) < 2:
        return [work(part) for part in parts]
    flush_std_streams()
    children: list[tuple[int, int]] = []  # (pid, the read end of its pipe), still running
    spawned: list[bool] = []
    try:
        for part in parts[1:]:
            try:
                children.append(_spawn(part, work))
                spawned.append(True)
            except OSError:  # no process to be had (a pids limit, no memory): here, later
                spawned.append(False)
        results = [work(parts[0])]
        for part, forked in zip(parts[1:], spawned, strict=True):
            if not forked:
                results.append(work(part))
                continue
            pid, fd = children.pop(0)
            try:
                data = _read_all(fd)  # closes the pipe
                _, status = os.waitpid(pid, 0)
            except BaseException:
                _stop(pid)
                raise
            if status == 0 and data:
                results.append(pickle.loads(data))
            else:
                results.append(work(part))  # the child failed: its part here, its error ours
    except BaseException:
        for pid, fd in children:
            _stop(pid, fd)
        raise
    return results


def _spawn(part: Any, work: Callable[[Any], Any]) -> tuple[int, int]:
    def write(out: Any) -> None:
        out.write(pickle.dumps(work(part), protocol=pickle.HIGHEST_PROTOCOL))

    return fork_writer(write)


def _read_all(fd: int) -> bytes:
    """Everything the child writes, to the end; the pipe is closed after."""
    chunks: list[bytes] = []
    try:
        while True:
            wait_readable(fd)  # Ctrl-C meanwhile is seen at once (see wait_readable)
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


def _stop(pid: int, fd: int | None = None) -> None:
    stop_child(pid)
    if fd is not None:
        with suppress(OSError):
            os.close(fd)
