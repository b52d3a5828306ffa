"""The CI recipes of docs/ci.md, run the way GitHub Actions and GitLab CI run them.

The YAML blocks are read from the doc itself, so the doc cannot rot: every
``run:`` step and ``script:`` line that calls schemaops runs with bash in a
clone of a repository whose branch adds one unsafe migration, with the
variables the CI service sets. Install lines are checked, not run (this
virtualenv already has schemaops).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from sample_repo import UNSAFE_OPERATION, add_migration, git, make_repo, tool_env
from support import ROOT

DOC = (ROOT / "docs/ci.md").read_text(encoding="utf-8")
BLOCKS = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)]
SARIF_SCHEMA = json.loads((ROOT / "tests/data/sarif-schema-2.1.0.json").read_text("utf-8"))


def block_with(key: str) -> dict[str, Any]:
    return next(b for b in BLOCKS if isinstance(b, dict) and key in b)


@pytest.fixture
def branch(tmp_path: Path) -> tuple[Path, str]:
    """A clone whose branch ``feature`` adds an unsafe migration on top of origin/main."""
    origin = tmp_path / "origin.git"
    make_repo(tmp_path / "seed")
    git(tmp_path, "clone", "-q", "--bare", str(tmp_path / "seed"), str(origin))
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "-b", "feature")
    added = add_migration(work, "orders", "drop_note", UNSAFE_OPERATION)
    git(work, "add", added)
    git(work, "commit", "-q", "-m", "drop Order.note")
    return work, added


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_github_workflow_gates_the_pull_request(branch: tuple[Path, str], tmp_path: Path) -> None:
    work, added = branch
    workflow = block_with("jobs")
    steps = workflow["jobs"]["schemaops"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    assert workflow["permissions"]["security-events"] == "write"
    summary = tmp_path / "step-summary.md"
    env = tool_env(
        GITHUB_ACTIONS="true",
        GITHUB_BASE_REF="main",
        GITHUB_WORKSPACE=str(work),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    results = {}
    for step in steps:
        if "run" not in step:
            continue
        if step["run"].startswith("pip install"):
            assert "schemaops" in step["run"]
            continue
        results[step["name"]] = run_step(step["run"], work, env)

    names = list(results)
    assert names[-1].startswith("Gate")
    *reports, gate = results.values()
    assert all(r.returncode == 0 for r in reports), [r.stderr for r in reports]
    assert gate.returncode == 1
    assert f"::error file={added},line=" in gate.stdout and "title=SO101 drop-column" in gate.stdout
    assert "migrations: 1," in gate.stdout  # only the branch's migration

    table = summary.read_text(encoding="utf-8")
    assert table.startswith("### ❌ schemaops check") and added in table
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    sarif = json.loads((work / upload["with"]["sarif_file"]).read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert uris == {added}


def test_gitlab_job_writes_the_code_quality_report_and_gates(branch: tuple[Path, str]) -> None:
    work, added = branch
    job = block_with("schemaops")["schemaops"]
    assert job["variables"]["GIT_DEPTH"] == "0"
    env = tool_env(
        GITLAB_CI="true",
        CI_PIPELINE_SOURCE="merge_request_event",
        CI_MERGE_REQUEST_TARGET_BRANCH_NAME="main",
        CI_PROJECT_DIR=str(work),
    )
    git(work, "update-ref", "-d", "refs/remotes/origin/main")  # the job must fetch it
    outcomes = []
    for line in job["script"]:
        if line.startswith("pip install"):
            assert "schemaops" in line
            continue
        outcomes.append(run_step(line, work, env))
    *setup, gate = outcomes
    assert all(r.returncode == 0 for r in setup), [r.stderr for r in setup]
    assert gate.returncode == 1 and "SO101" in gate.stdout and added in gate.stdout

    report = work / job["artifacts"]["reports"]["codequality"]
    issues = json.loads(report.read_text(encoding="utf-8"))
    assert {i["location"]["path"] for i in issues} == {added}
    assert "SO101" in {i["check_name"] for i in issues}
    assert job["artifacts"]["when"] == "always"


def test_pre_commit_snippet_names_the_shipped_hooks() -> None:
    config = block_with("repos")
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    shipped = {h["id"] for h in hooks}
    used = {h["id"] for repo in config["repos"] for h in repo["hooks"]}
    assert used and used <= shipped
    assert "schemaops-check-system" in DOC
