"""Rules of the additive-only policy (SO1xx) and rollback safety (SO3xx)."""

from __future__ import annotations

from schemaops.checks._base import Rule
from schemaops.checks.drop_column import DropColumn
from schemaops.checks.post_deploy_dependency import PostDeployDependency
from schemaops.checks.runpython_without_reverse import RunPythonWithoutReverse

RULES: list[type[Rule]] = [
    DropColumn,
    PostDeployDependency,
    RunPythonWithoutReverse,
]
