"""``post-deploy-apps``: every migration of the listed apps (or listed migrations) that
declares no phase of its own is post-deploy, for every command that reads the phase."""

from __future__ import annotations

import types
from collections.abc import Iterator

import pytest
from support import run_cli
from tinyproj import PYPROJECT, migration_source, write_project

from schemaops import phases
from schemaops.config import ConfigError, load
from schemaops.phases import POST, PRE, phase_of

ORDER = 'migrations.CreateModel("Order", [("id", models.BigAutoField(primary_key=True))])'
ADD_NOTE = 'migrations.AddField("order", "note", models.TextField(null=True))'
AFTER_0001 = '("shop", "0001_initial")'


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    phases.configure(())  # the setting is per command; never leak it into other tests


def _migration(app: str, name: str, **attrs: object) -> object:
    return types.SimpleNamespace(app_label=app, name=name, **attrs)


def test_listed_apps_and_migrations_are_post_deploy_unless_the_file_says_otherwise() -> None:
    assert phase_of(_migration("vendor", "0001_initial")) == PRE
    phases.configure(["vendor", "shop.0007_drop"])
    assert phase_of(_migration("vendor", "0001_initial")) == POST
    assert phase_of(_migration("shop", "0007_drop")) == POST
    assert phase_of(_migration("shop", "0006_add")) == PRE  # only the listed migration
    assert phase_of(_migration("other", "0001_initial")) == PRE
    # a declaration in the file wins: deploy_phase, django-syzygy's stage, safemigrate's safe
    assert phase_of(_migration("vendor", "0002", deploy_phase="pre")) == PRE
    assert phase_of(_migration("vendor", "0003", stage="pre_deploy")) == PRE
    assert phase_of(_migration("vendor", "0004", safe="before_deploy")) == PRE
    assert phase_of(_migration("other", "0001", deploy_phase="post")) == POST


def test_loading_the_configuration_sets_it_and_a_file_without_it_clears_it(tmp_path) -> None:
    listed = tmp_path / "listed.toml"
    listed.write_text('[tool.schemaops]\npost-deploy-apps = ["vendor"]\n')
    load(listed)
    assert phase_of(_migration("vendor", "0001_initial")) == POST
    empty = tmp_path / "empty.toml"
    empty.write_text("[tool.schemaops]\n")
    load(empty)
    assert phase_of(_migration("vendor", "0001_initial")) == PRE


def test_a_value_that_is_not_a_list_of_strings_is_a_config_error(tmp_path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[tool.schemaops]\npost-deploy-apps = [1]\n")
    with pytest.raises(ConfigError, match="post-deploy-apps must be a list of strings"):
        load(bad)


def _project(tmp_path, pyproject_extra: str, second: str):
    return write_project(
        tmp_path,
        {"0001_initial": migration_source(ORDER), "0002_note": second},
        pyproject=PYPROJECT + pyproject_extra,
    )


@pytest.mark.parametrize(
    ("extra", "fires"),
    [
        ("", False),  # pre-deploy: adding a nullable column is additive, fine
        ('post-deploy-apps = ["shop"]\n', True),  # post-deploy: too late for the new code
        ('post-deploy-apps = ["shop.0002_note"]\n', True),
        ('post-deploy-apps = ["other"]\n', False),
    ],
)
def test_check_judges_the_listed_apps_migrations_as_post_deploy(tmp_path, extra, fires) -> None:
    project = _project(tmp_path, extra, migration_source(ADD_NOTE, AFTER_0001))
    result = run_cli("check", "shop", "0002_note", "--format", "json", cwd=project)
    assert result.returncode == (1 if fires else 0), result.stdout + result.stderr
    assert ('"SO116"' in result.stdout) is fires


def test_a_pre_deploy_migration_after_a_listed_one_cannot_run_before_the_deploy(tmp_path) -> None:
    extra = 'post-deploy-apps = ["shop.0001_initial"]\n'
    project = _project(tmp_path, extra, migration_source(ADD_NOTE, AFTER_0001))
    result = run_cli("check", "shop", "0002_note", "--format", "json", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "depends on post-deploy migration shop.0001_initial" in result.stdout
    assert '"SO116"' not in result.stdout  # 0002 itself stays pre-deploy


def test_the_files_own_phase_wins_over_the_apps_listing(tmp_path) -> None:
    second = migration_source(ADD_NOTE, AFTER_0001, extra='deploy_phase = "pre"')
    project = _project(tmp_path, 'post-deploy-apps = ["shop"]\n', second)
    result = run_cli("check", "shop", "0002_note", "--format", "json", cwd=project)
    assert '"SO116"' not in result.stdout  # 0002 says pre: the add is judged pre-deploy
    # ... while 0001, which says nothing, is post-deploy through the listing
    assert "depends on post-deploy migration shop.0001_initial" in result.stdout
