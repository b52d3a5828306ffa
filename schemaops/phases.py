"""Deploy phases: pre-deploy (expand, additive) and post-deploy (contract).

A migration is post-deploy when its own file says so, as a class attribute::

    class Migration(migrations.Migration):
        deploy_phase = "post"

For teams coming from other tools, django-syzygy's ``stage = Stage.POST_DEPLOY``
and django-safemigrate's ``safe = Safe.after_deploy()`` are honoured too (and
their pre-deploy forms count as a declaration of the pre-deploy phase).

Apps whose files you do not control (a vendored or third-party app) are named
in ``post-deploy-apps`` of ``[tool.schemaops]``: each migration of those apps
that declares no phase of its own is post-deploy, the way django-syzygy's
``MIGRATION_STAGES_OVERRIDE`` does it. An entry may also name one migration,
``"app_label.0007_drop_legacy"``. The configuration is set once per command by
:func:`schemaops.config.project_config` (:func:`configure`), so every reader of
the phase (check, migrate, trace --compat, fix) sees the same answer.

Everything else is pre-deploy: it must be additive, so the old code still
running during the rollout keeps working.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    """When a migration runs: before the new code is deployed, or after."""

    PRE = "pre"
    POST = "post"


PRE, POST = Phase.PRE, Phase.POST

_POST_WORDS = {"post", "post-deploy", "post_deploy", "postdeploy", "contract"}
_PRE_WORDS = {"pre", "pre-deploy", "pre_deploy", "predeploy", "expand"}

# post-deploy-apps of the command that runs: app labels and app_label.migration labels
_post_deploy: frozenset[str] = frozenset()


def configure(post_deploy_apps: Iterable[str]) -> None:
    """Use ``post-deploy-apps`` from now on (each command's configuration sets it)."""
    global _post_deploy
    _post_deploy = frozenset(post_deploy_apps)


def phase_of(migration: Any) -> Phase:
    """The migration's phase: its own declaration, then ``post-deploy-apps``, else pre."""
    declared = declared_phase(migration)
    if declared is not None:
        return declared
    if _post_deploy:
        app = getattr(migration, "app_label", None)
        if app in _post_deploy or f"{app}.{getattr(migration, 'name', '')}" in _post_deploy:
            return POST
    return PRE


def declared_phase(migration: Any) -> Phase | None:
    """The phase the migration's file declares, or None when it says nothing."""
    declared = getattr(migration, "deploy_phase", None)
    if isinstance(declared, str):
        return POST if declared.strip().lower() in _POST_WORDS else PRE
    stage = getattr(migration, "stage", None)  # django-syzygy: Stage.PRE_DEPLOY / POST_DEPLOY
    if stage is not None:
        return POST if "post" in str(getattr(stage, "value", stage)).lower() else PRE
    safe = getattr(migration, "safe", None)  # django-safemigrate: Safe.before/after_deploy()
    if safe is not None:
        return POST if "after" in str(getattr(safe, "value", safe)).lower() else PRE
    return None
