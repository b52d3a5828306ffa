"""Migration rules of ``schemaops check``: one rule per module, registered here.

Registration is explicit (no directory scanning): add the import and the
class to ``_ALL`` below. ``tests/checks/test_catalog.py`` fails when a rule
lacks a doc section or a test, or when two rules share a code or a name.
"""

from __future__ import annotations

from schemaops.checks._base import Rule
from schemaops.checks.add_index_non_concurrently import AddIndexNonConcurrently
from schemaops.checks.drop_column import DropColumn
from schemaops.checks.post_deploy_dependency import PostDeployDependency
from schemaops.checks.runpython_without_reverse import RunPythonWithoutReverse
from schemaops.checks.unparsable_sql import UnparsableSQL

_ALL: list[type[Rule]] = [
    # additive-only (SO1xx)
    DropColumn,
    PostDeployDependency,
    # locks and rewrites (SO2xx)
    AddIndexNonConcurrently,
    # rollback safety (SO3xx)
    RunPythonWithoutReverse,
    # meta (SO9xx)
    UnparsableSQL,
]

RULES: dict[str, type[Rule]] = {rule.code: rule for rule in sorted(_ALL, key=lambda r: r.code)}
_BY_NAME: dict[str, type[Rule]] = {rule.name: rule for rule in _ALL}

# Rules the linter calls directly.
SQL_UNPARSABLE = UnparsableSQL
POST_DEPLOY_DEPENDENCY = PostDeployDependency


def lookup(ref: str) -> type[Rule] | None:
    """A rule by code (``SO101``, any case) or name (``drop-column``)."""
    return RULES.get(ref.strip().upper()) or _BY_NAME.get(ref.strip().lower())


__all__ = ["RULES", "Rule", "lookup"]
