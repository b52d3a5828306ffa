"""Migration rules of ``schemaops check``: one rule per module, registered explicitly.

Registration is explicit (no directory scanning): each rule module is
imported by name in one of the three ``_set_*.py`` lists, grouped by code
range. ``tests/checks/test_catalog.py`` fails when a rule lacks a doc
section or a test file, or when two rules share a code or a name.
"""

from __future__ import annotations

from schemaops.checks import _set_additive, _set_locking, _set_other
from schemaops.checks.post_deploy_dependency import PostDeployDependency
from schemaops.checks.unparsable_sql import UnparsableSQL
from schemaops.rules import Rule

_ALL: list[type[Rule]] = [*_set_additive.RULES, *_set_locking.RULES, *_set_other.RULES]

RULES: dict[str, type[Rule]] = {rule.code: rule for rule in sorted(_ALL, key=lambda r: r.code)}
_BY_NAME: dict[str, type[Rule]] = {rule.name: rule for rule in _ALL}

# Rules the linter calls directly.
SQL_UNPARSABLE = UnparsableSQL
POST_DEPLOY_DEPENDENCY = PostDeployDependency


def lookup(ref: str) -> type[Rule] | None:
    """A rule by code (``SO101``, any case) or name (``drop-column``)."""
    return RULES.get(ref.strip().upper()) or _BY_NAME.get(ref.strip().lower())


__all__ = ["RULES", "Rule", "lookup"]
