"""[tool.schemaops]: each value type-checked in one line; found and used from a subfolder."""

from __future__ import annotations

import pytest
from support import SAMPLE, run_cli

from schemaops.config import load
from schemaops.errors import ConfigError


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('pg-version = "15"', "pg-version must be a whole number, not the string '15' "
         "(write pg-version = 15, without quotes)"),
        ("retries = 2.5", "retries must be a whole number, not 2.5"),
        ("apps = [1, 2]", "apps must be a list of strings, not [1, 2]"),
        ('assume-timeouts = "yes"', "assume-timeouts must be true or false, not the string 'yes'"),
        ("severity = { SO201 = 3 }", "severity must be a table of code = level"),
        ("lock-timeout = true", 'lock-timeout must be a duration such as "5s"'),
        ('lock-timeout = "-1s"', "lock-timeout: '-1s': a duration cannot be negative"),
        ("settings = 3", "settings must be a string, not 3"),
    ],
)  # fmt: skip
def test_a_value_of_the_wrong_type_is_one_clear_error(tmp_path, line, message):
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.schemaops]\n{line}\n")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert message in str(info.value)


def test_the_wrong_type_on_the_command_line_is_exit_2_not_a_crash(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.schemaops]\npg-version = "15"\n')
    proc = run_cli("check", cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "pg-version" in proc.stderr


def test_paths_in_the_file_are_relative_to_its_folder(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.schemaops]\nbaseline = "ci/baseline.json"\npythonpath = "src"\n'
    )
    cfg = load(tmp_path / "pyproject.toml")
    assert cfg.baseline == str(tmp_path / "ci/baseline.json")
    assert cfg.pythonpath == str(tmp_path / "src")


def test_check_from_a_subfolder_of_the_project_finds_the_settings():
    at_top = run_cli("check", "--format", "json", cwd=SAMPLE)
    below = run_cli("check", "--format", "json", cwd=SAMPLE / "orders" / "migrations")
    assert below.returncode == at_top.returncode == 1, below.stderr
    import json

    assert json.loads(below.stdout)["summary"] == json.loads(at_top.stdout)["summary"]
