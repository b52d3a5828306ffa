"""Deploy phases: pre-deploy (expand, additive) and post-deploy (contract).

A migration is post-deploy when its own file says so, as a class attribute::

    class Migration(migrations.Migration):
        deploy_phase = "post"

For teams coming from other tools, django-syzygy's ``stage = Stage.POST_DEPLOY``
and django-safemigrate's ``safe = Safe.after_deploy()`` are honoured too.
Everything else is pre-deploy: it must be additive, so the old code still
running during the rollout keeps working.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    """When a migration runs: before the new code is deployed, or after."""

    PRE = "pre"
    POST = "post"


PRE, POST = Phase.PRE, Phase.POST


def phase_of(migration: Any) -> Phase:
    declared = getattr(migration, "deploy_phase", None)
    if isinstance(declared, str):
        return (
            POST
            if declared.strip().lower() in {"post", "post-deploy", "post_deploy", "contract"}
            else PRE
        )
    stage = getattr(migration, "stage", None)  # django-syzygy
    if stage is not None and "post" in str(getattr(stage, "value", stage)).lower():
        return POST
    safe = getattr(migration, "safe", None)  # django-safemigrate
    if safe is not None and "after" in str(getattr(safe, "value", safe)).lower():
        return POST
    return PRE
