"""Compile a project's migration files in a second process while Django imports them.

Django's MigrationLoader imports every migration module, and a migration file is
rarely compiled to a ``.pyc`` in CI (a fresh checkout, ``PYTHONDONTWRITEBYTECODE``):
compiling 1,000 of them is 80 ms of ``check``, done one after the other before
anything else can start. In the console script, on Linux, :func:`start` forks
once the project is set up: the child compiles the migration files, in the
order Django will import them, and sends each code object back (``marshal``, as
a ``.pyc`` holds it), while the parent imports them: it executes one file while
the child compiles the next (1,000 files: loading 151 -> 112 ms; the parent
waits 3 ms in all). A file the child did not send (it failed), or compiled from
other bytes than the parent read (the code must be of the very bytes imported),
the parent compiles itself. Nothing changes but who compiles.
"""

from __future__ import annotations

import marshal
import os
import struct
import sys
from collections.abc import Iterable
from types import CodeType
from typing import Any, BinaryIO

from schemaops._process import (
    flush_std_streams,
    fork_writer,
    single_threaded,
    stop_child,
    wait_readable,
)

# fewer files than this: a fork costs more than compiling them
MIN_FILES = 100
_HEADER = struct.Struct("<IIq")  # path length, code length, hash of the source bytes


def migration_files() -> list[str] | None:
    """The migration files Django's ``MigrationLoader.load_disk`` will import, in its
    order; None if they cannot be told.

    Found as it finds them: each installed app's migrations package (not a namespace
    package, not a module), the modules ``pkgutil.iter_modules`` lists in it, but
    packages and names starting with ``_`` or ``~``; in that order on Django 6, in the
    order of a set of those names before (the same set, built the same way in the same
    process, iterates the same way).
    """
    import importlib.util
    import pkgutil

    import django
    from django.apps import apps
    from django.db.migrations.loader import MigrationLoader

    out: list[str] = []
    for config in apps.get_app_configs():
        module_name, _ = MigrationLoader.migrations_module(config.label)
        if module_name is None:
            continue
        try:
            spec = importlib.util.find_spec(module_name)
        except Exception:  # the loader will say what is wrong, or take the app as unmigrated
            continue
        folders = spec.submodule_search_locations if spec is not None else None
        if spec is None or spec.origin is None or not spec.has_location or not folders:
            continue  # no package, a namespace package, a module: Django migrates none
        names: Iterable[str] = [
            name
            for _, name, is_pkg in pkgutil.iter_modules(folders)
            if not is_pkg and name[0] not in "_~"
        ]
        if django.VERSION < (6,):
            names = set(names)
        for name in names:
            for folder in folders:
                path = os.path.join(folder, name + ".py")
                if os.path.isfile(path):
                    out.append(path)
                    break
    return out


class Precompiled:
    """The child's code objects, by file, as they arrive."""

    def __init__(self, pid: int, pipe: BinaryIO, paths: set[str]) -> None:
        self._pid = pid
        self._pipe: BinaryIO | None = pipe  # read through its descriptor, not its buffer
        self._buffer = bytearray()
        self._wanted = paths
        self._ready: dict[str, tuple[int, bytes]] = {}

    def take(self, path: str, source: bytes) -> CodeType | None:
        """The code the child compiled from exactly ``source``; None: compile it here."""
        if path not in self._wanted:
            return None
        while path not in self._ready and self._pipe is not None:
            self._receive()
        entry = self._ready.pop(path, None)
        if entry is None or entry[0] != hash(source):
            return None
        try:
            code = marshal.loads(entry[1])
        except Exception:  # not code after all: compile it here
            return None
        return code if isinstance(code, CodeType) else None

    def _receive(self) -> None:
        """Read the next record into ``_ready``; at the end of the stream (or a cut one),
        close."""
        if not self._fill(_HEADER.size):
            self.close()
            return
        path_length, code_length, digest = _HEADER.unpack_from(self._buffer)
        size = _HEADER.size + path_length + code_length
        if not self._fill(size):
            self.close()
            return
        record = bytes(self._buffer[:size])
        del self._buffer[:size]
        path = record[_HEADER.size : _HEADER.size + path_length].decode(errors="replace")
        self._ready[path] = (digest, record[_HEADER.size + path_length :])

    def _fill(self, size: int) -> bool:
        """At least ``size`` bytes in the buffer; False: the stream ended before."""
        assert self._pipe is not None
        fd = self._pipe.fileno()
        while len(self._buffer) < size:
            wait_readable(fd)  # Ctrl-C meanwhile is seen at once (see wait_readable)
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return False
            self._buffer += chunk
        return True

    def close(self) -> None:
        """Stop the child (done or not) and forget what it did not send."""
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
            stop_child(self._pid)


def start(own_process: bool) -> Precompiled | None:
    """Fork a child compiling the migration files, or None (another program's process,
    not Linux, another thread, too few files, no fork to be had)."""
    if not (
        own_process
        and sys.platform.startswith("linux")
        and hasattr(os, "fork")
        and single_threaded()
    ):
        return None
    try:
        files = migration_files()
    except Exception:  # the loader will say what is wrong with the project
        return None
    if files is None or len(files) < MIN_FILES:
        return None
    flush_std_streams()

    def write(out: BinaryIO) -> None:
        for path in files:
            _send(out, path)

    try:
        pid, read_end = fork_writer(write)
    except OSError:
        return None
    return Precompiled(pid, os.fdopen(read_end, "rb"), set(files))


def _send(out: Any, path: str) -> None:
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        code = compile(source, path, "exec", dont_inherit=True)
    except (OSError, SyntaxError, ValueError):
        return  # the parent compiles it and meets the same error
    payload = marshal.dumps(code)
    name = path.encode()
    out.write(_HEADER.pack(len(name), len(payload), hash(source)) + name + payload)
