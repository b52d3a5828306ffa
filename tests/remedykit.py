"""Lint in-memory migrations (see lintkit) and give the findings the planner's remedy.

Rules say what is wrong; the remedy planner (``schemaops.remedy``) says what to
do instead, once per operation. ``check`` attaches it with
``attach_remedies``; rule tests that assert on the remedy do the same here.
"""

from __future__ import annotations

from typing import Any

from lintkit import APP, QUIET, FakeLoader, make_migration

from schemaops.config import Config
from schemaops.findings import Finding
from schemaops.linter import Linter
from schemaops.remedy.attach import attach_remedies


def lint_remedy(
    operations: list[Any],
    setup: list[Any] | None = None,
    *,
    atomic: bool = True,
    pg_version: int = 15,
    config: Config | None = None,
    **attrs: Any,
) -> list[Finding]:
    """``lintkit.lint``, then ``recipe`` = the planner's remedy of each finding's operation."""
    first = make_migration("0001_initial", setup or [])
    second = make_migration(
        "0002_change", operations, atomic=atomic, dependencies=[(APP, "0001_initial")], **attrs
    )
    loader = FakeLoader([first, second])
    result = Linter(loader, config or QUIET, pg_version=pg_version).run({(APP, "0002_change")})
    findings = [f for f in result.findings if not f.suppressed]
    attach_remedies(findings, loader, pg_version * 10000)  # type: ignore[arg-type]
    return findings
