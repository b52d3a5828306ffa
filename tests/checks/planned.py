"""What `check` shows as an operation's remedy: the planner's files, offline (`planned`).

The rule tests use it where a rule's finding used to carry its own recipe: the
recipe is now the planner's (``schemaops.remedy``), shared by every finding
of the operation. The proof that each kind applies and blocks nothing on
PostgreSQL is tests/remedy/test_proof*.py.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.migrations.state import ProjectState

from schemaops.remedy.planner import plan_operation
from schemaops.remedy.writer import layout, remedy_text

APP = "shop"


def planned(ops: list[Any], setup: list[Any], index: int = 0, **migration: Any) -> str:
    """The remedy text of ``ops[index]`` in a migration ``0002_change`` run after ``setup``."""
    state = ProjectState()
    for op in setup:
        op.state_forwards(APP, state)
    for op in ops[:index]:
        op.state_forwards(APP, state)
    remedy = plan_operation(ops[index], APP, state)
    assert remedy is not None, "the planner has a remedy"
    attrs = {"operations": ops, "dependencies": [(APP, "0001_initial")], **migration}
    mig = type("Migration", (migrations.Migration,), attrs)("0002_change", APP)
    files = layout(APP, mig, {index: remedy}, leaf="0002_change")
    for f in files:
        compile(f.code, f.name, "exec")
    return (
        remedy_text(remedy, files, f"schemaops fix {APP} 0002_change").replace("# ---", "\n# ---")
        + "\n"
        + "\n".join(f.code for f in files)
    )
