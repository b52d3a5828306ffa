"""The audit's progress bar: which check runs and how many are done, on a terminal only.

Drawn with Click's progress bar on stderr, and only once the audit has run
for ``delay`` seconds (a quick audit shows nothing). Nothing is drawn when
stderr is not a terminal (CI, pipes) or when the report is JSON.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

import click

from schemaops.reporting import OutputFormat


class AuditProgress:
    """A callback for ``run_audit(progress=...)``: (check or None at the end, checks done)."""

    def __init__(self, total: int, *, stream: TextIO, delay: float = 1.0) -> None:
        self.total = total
        self.stream = stream
        self.current: Any = None
        self.done = 0
        self.bar: Any = None
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.timer = threading.Timer(delay, self._show)
        self.timer.daemon = True
        self.timer.start()

    def __call__(self, check: Any, done: int) -> None:
        with self.lock:
            self.current, advanced = check, done - self.done
            self.done = done
            if self.bar is not None:
                self.bar.current_item = check
                if advanced:
                    self.bar.update(advanced)
                self.bar.render_progress()  # the new check's name even when no step was made
            if check is None:
                self._close()

    def _show(self) -> None:
        with self.lock:
            if self.bar is not None or self.current is None:
                return
            self.bar = click.progressbar(
                length=self.total,
                label="schemaops audit",
                file=self.stream,
                show_pos=True,
                show_eta=False,
                item_show_func=_label,
            )
            self.bar.__enter__()
            self.bar.current_item = self.current
            if self.done:
                self.bar.update(self.done)
            self.bar.render_progress()

    def _close(self) -> None:
        self.timer.cancel()
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _label(check: Any) -> str:
    return f"{check.code} {check.name}" if check is not None else ""


def audit_progress(
    fmt: OutputFormat | str, total: int, stream: TextIO | None = None
) -> AuditProgress | None:
    """A progress callback for a terminal, or None in CI (no terminal) and for JSON."""
    stream = stream if stream is not None else sys.stderr
    if fmt == OutputFormat.JSON or not stream.isatty():
        return None
    return AuditProgress(total, stream=stream)
