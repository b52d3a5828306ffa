"""SO111 post-deploy-dependency: checked on the whole graph, so built with three migrations."""

from django.db import migrations
from lintkit import APP, QUIET, FakeLoader, make_migration

from schemaops.linter import Linter


def graph(pre_phase: str | None = None) -> FakeLoader:
    """0001 (pre), 0002 (post-deploy: drops a column), 0003 depending on 0002."""
    extra = {"deploy_phase": pre_phase} if pre_phase else {}
    return FakeLoader(
        [
            make_migration("0001_initial", []),
            make_migration(
                "0002_drop_legacy",
                [migrations.RunSQL("SELECT 1", reverse_sql="SELECT 1")],
                dependencies=[(APP, "0001_initial")],
                deploy_phase="post",
            ),
            make_migration(
                "0003_next",
                [migrations.RunSQL("SELECT 2", reverse_sql="SELECT 2")],
                dependencies=[(APP, "0002_drop_legacy")],
                **extra,
            ),
        ]
    )


def so111(loader: FakeLoader, applied: set[tuple[str, str]] | None = None) -> list[str]:
    linter = Linter(loader, QUIET, applied=applied or set())
    findings = linter.run({(APP, "0003_next")}).findings
    return [f.migration for f in findings if f.code == "SO111" and not f.suppressed]


def test_pre_deploy_migration_after_unapplied_post_deploy_one_fires() -> None:
    assert so111(graph()) == ["0003_next"]


def test_post_deploy_migration_may_follow_a_post_deploy_one() -> None:
    assert so111(graph(pre_phase="post")) == []


def test_applied_post_deploy_dependency_is_fine() -> None:
    applied = {(APP, "0001_initial"), (APP, "0002_drop_legacy")}
    assert so111(graph(), applied=applied) == []
