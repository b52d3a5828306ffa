"""Output formats checked against what their consumers accept.

SARIF against the official 2.1.0 JSON schema (tests/data), GitHub workflow
commands against GitHub's escaping rules, the GitLab code quality report
against the fields GitLab reads, markdown, and the JSON contract of DESIGN.md.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import jsonschema
import pytest
from support import FINDING_KEYS, ROOT, SAMPLE, run_cli

from schemaops.findings import Finding, Location, Severity
from schemaops.reporting import FORMATS, Report, RuleInfo, render

SARIF_SCHEMA = json.loads((ROOT / "tests/data/sarif-schema-2.1.0.json").read_text("utf-8"))
NO_CI = {"GITHUB_WORKSPACE": "", "CI_PROJECT_DIR": "", "SCHEMAOPS_REPO_ROOT": ""}

# Text a path, a title or a message may carry that GitHub's syntax must escape.
NASTY = "100% sure: a, b\r\nnext line"


def tricky_report() -> Report:
    findings = [
        Finding(
            code="SO101",
            name="drop-column",
            severity=Severity.ERROR,
            message=f"drops orders_order.note ({NASTY})",
            app="orders",
            migration="0007_drop, note",
            operation=0,
            lock='ACCESS EXCLUSIVE on "orders_order"',
            recipe="migrations.RunSQL('ALTER TABLE t DROP COLUMN a | b')\n# done",
            location=Location("orders/migrations/0007 drop:note.py", 9),
        ),
        Finding(
            code="SO101",
            name="drop-column",
            severity=Severity.ERROR,
            message="a second statement of the same RunSQL",
            app="orders",
            migration="0007_drop, note",
            operation=0,
            location=Location("orders/migrations/0007 drop:note.py", 9),
        ),
        Finding(
            code="SO301",
            name="runpython-without-reverse",
            severity=Severity.WARNING,
            message="no reverse_code",
            app="orders",
            migration="0004_fill",
            operation=None,
        ),
        Finding(
            code="A201",
            name="missing-fk-index",
            severity=Severity.INFO,
            message="orders_orderline.product_id has no index",
            obj="public.orders_orderline",
            evidence={"seq_scans": 12},
        ),
        Finding(
            code="SO201",
            name="add-index-non-concurrently",
            severity=Severity.ERROR,
            message="suppressed, never shown",
            suppressed="reviewed: empty table",
        ),
    ]
    rules = {
        "SO101": RuleInfo("SO101", "drop-column", "A column is dropped", Severity.ERROR, None),
        "SO201": RuleInfo(
            "SO201", "add-index-non-concurrently", "No CONCURRENTLY", Severity.ERROR, None
        ),
    }
    return Report("check", findings, {"migrations": 2}, rules)


@pytest.fixture
def no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NO_CI:
        monkeypatch.delenv(name, raising=False)


def check_output(fmt: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = run_cli("check", "--format", fmt, *args, env={**NO_CI, **(env or {})})
    assert result.returncode == 1, result.stderr  # the demo shop ships unsafe migrations
    assert result.stderr == ""
    return result.stdout


# -- SARIF ------------------------------------------------------------------------


def assert_valid_sarif(log: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]


def test_sarif_of_the_demo_shop_is_valid_sarif_2_1_0() -> None:
    log = json.loads(check_output("sarif"))
    assert_valid_sarif(log)
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} >= {"SO101", "SO201"}
    where = results[0]["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"].endswith(".py")
    assert (SAMPLE / where["artifactLocation"]["uri"]).is_file()
    assert where["region"]["startLine"] >= 1
    docs = (ROOT / "docs/rules.md").read_text("utf-8")
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        assert "**Why is this bad?**" in rule["help"]["markdown"]
        page, _, anchor = rule["helpUri"].partition("#")
        assert page.endswith("/docs/rules.md") and f"(#{anchor})" in docs


def test_sarif_with_odd_findings_is_valid_and_keeps_what_github_needs(no_ci: None) -> None:
    log = json.loads(render(tricky_report(), "sarif"))
    assert_valid_sarif(log)
    results = log["runs"][0]["results"]
    assert len(results) == 4  # the suppressed finding is left out
    assert results[0]["level"] == "error" and results[2]["level"] == "warning"
    assert results[3]["level"] == "note"
    uri = results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "orders/migrations/0007%20drop%3Anote.py"
    logical = results[3]["locations"][0]["logicalLocations"][0]
    assert logical["fullyQualifiedName"] == "public.orders_orderline"
    assert all(r["partialFingerprints"]["schemaops/v1"] for r in results)


def test_sarif_schema_rejects_what_is_not_sarif() -> None:
    """The vendored schema really constrains: a broken log fails validation."""
    log = json.loads(render(tricky_report(), "sarif"))
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)


# -- GitHub workflow commands -----------------------------------------------------

COMMAND = re.compile(r"^::(?P<cmd>error|warning|notice)(?: (?P<props>[^:]*))?::(?P<msg>.*)$")


def unescape_data(value: str) -> str:
    return value.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(value: str) -> str:
    return unescape_data(value.replace("%3A", ":").replace("%2C", ","))


def parse_commands(text: str) -> list[dict[str, Any]]:
    commands = []
    for line in text.splitlines():
        match = COMMAND.match(line)
        if match is None:
            continue
        props = {}
        for pair in filter(None, (match["props"] or "").split(",")):
            key, _, value = pair.partition("=")
            props[key] = unescape_property(value)
        commands.append({"cmd": match["cmd"], "props": props, "msg": unescape_data(match["msg"])})
    return commands


def test_github_commands_escape_percent_newlines_colons_and_commas(no_ci: None) -> None:
    text = render(tricky_report(), "github")
    lines = text.splitlines()
    commands = parse_commands(text)
    assert len(commands) == 4 and len(lines) == 5  # one line per finding, then the summary
    first = commands[0]
    assert first["cmd"] == "error"
    assert first["props"] == {
        "file": "orders/migrations/0007 drop:note.py",
        "line": "9",
        "title": "SO101 drop-column",
    }
    assert NASTY in first["msg"]
    assert "Safe recipe:\nmigrations.RunSQL('ALTER TABLE t DROP COLUMN a | b')" in first["msg"]
    raw = lines[0]
    assert "\r" not in raw and "%25 sure%3A" not in raw and "100%25 sure: a, b%0D%0Anext" in raw
    assert [c["cmd"] for c in commands] == ["error", "error", "warning", "notice"]
    assert "file" not in commands[2]["props"]  # no path: an annotation on the run, not a file


def test_github_annotations_of_the_demo_shop_point_at_repository_files() -> None:
    """With GITHUB_WORKSPACE set (as on a runner), paths are relative to the checkout."""
    commands = parse_commands(check_output("github", env={"GITHUB_WORKSPACE": str(ROOT)}))
    files = [c["props"]["file"] for c in commands if c["cmd"] == "error"]
    assert files and all(f.startswith("sample_project/") for f in files)
    assert all((ROOT / f).is_file() for f in files)
    plain = parse_commands(check_output("github"))
    assert plain[0]["props"]["file"] == commands[0]["props"]["file"].removeprefix("sample_project/")


# -- GitLab code quality ------------------------------------------------------------

# What GitLab reads from a code quality report (docs: "Code Quality report format").
GITLAB_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string"},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}


def test_gitlab_report_has_the_fields_gitlab_reads(no_ci: None) -> None:
    issues = json.loads(render(tricky_report(), "gitlab"))
    jsonschema.validate(issues, GITLAB_SCHEMA)
    assert len(issues) == 4
    fingerprints = [i["fingerprint"] for i in issues]
    assert len(set(fingerprints)) == 4  # unique even for two findings on one operation
    assert [i["severity"] for i in issues] == ["critical", "critical", "major", "info"]
    assert issues[0]["location"] == {
        "path": "orders/migrations/0007 drop:note.py",
        "lines": {"begin": 9},
    }
    assert issues[0]["check_name"] == "SO101"
    assert "```python" in issues[0]["content"]["body"]
    assert json.loads(render(tricky_report(), "gitlab")) == issues  # stable fingerprints


def test_gitlab_report_of_the_demo_shop_uses_repository_paths() -> None:
    issues = json.loads(check_output("gitlab", env={"CI_PROJECT_DIR": str(ROOT)}))
    jsonschema.validate(issues, GITLAB_SCHEMA)
    assert issues and all(i["location"]["path"].startswith("sample_project/") for i in issues)
    assert all((ROOT / i["location"]["path"]).is_file() for i in issues)


# -- markdown ---------------------------------------------------------------------


def test_markdown_table_escapes_pipes_and_lists_recipes(no_ci: None) -> None:
    text = render(tricky_report(), "markdown")
    assert text.startswith("### ❌ schemaops check")
    assert "**2** error(s), **1** warning(s)" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 4
    assert all(row.count(" | ") + 1 == 5 for row in (r.replace("\\|", "") for r in rows))
    assert "<details><summary>Safe recipes</summary>" in text
    assert "```python\nmigrations.RunSQL('ALTER TABLE t DROP COLUMN a | b')" in text


def test_markdown_of_a_clean_run_says_so() -> None:
    text = render(Report("check", [], {"migrations": 3}), "markdown")
    assert text.startswith("### ✅ schemaops check") and text.endswith("No findings.")


# -- the JSON contract ----------------------------------------------------------------


def test_json_is_exactly_the_contract_of_design_md() -> None:
    """Version 1's keys all stay; grouping (group, remedy, remedies) and infos were added."""
    payload = json.loads(check_output("json"))
    assert set(payload) == {"version", "findings", "summary", "remedies"}
    assert payload["version"] == 1
    assert {"migrations", "errors", "warnings", "infos"} <= set(payload["summary"])
    assert payload["findings"]
    for f in payload["findings"]:
        assert set(f) == FINDING_KEYS | {"group", "remedy"}
        if f["operation"] is not None:
            assert f["group"] == f"{f['app']}.{f['migration']}#{f['operation']}"
        if f["remedy"] is not None:
            assert f["recipe"] == payload["remedies"][f["remedy"]]["recipe"]
        assert f["severity"] in {"error", "warning", "info"}
        assert f["operation"] is None or (isinstance(f["operation"], int) and f["operation"] >= 0)
        assert isinstance(f["line"], int) and (SAMPLE / f["path"]).is_file()
    errors = sum(f["severity"] == "error" for f in payload["findings"])
    assert payload["summary"]["errors"] == errors


def test_every_format_renders_every_kind_of_finding(no_ci: None) -> None:
    assert set(FORMATS) == {"text", "json", "github", "sarif", "markdown", "gitlab"}
    for fmt in FORMATS:
        text = render(tricky_report(), fmt, show_info=True)
        assert "suppressed, never shown" not in text
        assert "orders_orderline.product_id has no index" in text


def test_text_hides_check_infos_unless_asked_and_says_how_many(no_ci: None) -> None:
    text = render(tricky_report(), "text")
    assert "orders_orderline.product_id has no index" not in text
    assert "1 info finding(s) hidden (-v to show)" in text
    assert "orders_orderline.product_id has no index" in render(
        tricky_report(), "text", verbose=True
    )


def _one_operation_report() -> Report:
    """Three hazards of one operation, and one remedy the planner shared between them."""
    common = {"app": "shop", "migration": "0002_x", "operation": 0, "group": "shop.0002_x#0"}
    findings = [
        Finding(
            "SO201",
            "add-index-non-concurrently",
            Severity.ERROR,
            "index blocks writes",
            lock="SHARE on t",
            recipe="THE PLAN",
            remedy="shop.0002_x#0",
            **common,
        ),
        Finding(
            "SO209",
            "slow-step-after-access-exclusive",
            Severity.ERROR,
            "after ADD COLUMN",
            recipe="THE PLAN",
            remedy="shop.0002_x#0",
            **common,
        ),
        Finding(
            "SO107",
            "add-field-not-null-without-db-default",
            Severity.WARNING,
            "no db default",
            recipe="THE PLAN",
            remedy="shop.0002_x#0",
            **common,
        ),
    ]
    return Report("check", findings, {"migrations": 1})


def test_one_block_and_one_remedy_per_operation(no_ci: None) -> None:
    text = click.unstyle(render(_one_operation_report(), "text"))
    assert text.count("THE PLAN") == 1
    assert "operation 0: 3 hazards" in text
    assert all(code in text for code in ("SO201", "SO209", "SO107"))
    github = parse_commands(render(_one_operation_report(), "github"))
    assert len(github) == 1 and github[0]["cmd"] == "error"
    assert github[0]["msg"].count("THE PLAN") == 1 and "SO107: no db default" in github[0]["msg"]
    markdown = render(_one_operation_report(), "markdown")
    assert markdown.count("THE PLAN") == 1
    assert len([line for line in markdown.splitlines() if line.startswith("| ❌")]) == 1


def test_summary_mode_is_one_line_per_operation(no_ci: None) -> None:
    text = click.unstyle(render(_one_operation_report(), "text", compact=True))
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 2  # the operation, then the summary line
    assert "[SO201,SO209,SO107]" in lines[0] and "THE PLAN" not in text


def test_paths_outside_the_ci_checkout_stay_as_they_are(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from schemaops.reporting import ci_path

    monkeypatch.chdir(ROOT / "sample_project")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    assert ci_path("orders/models.py") == "orders/models.py"
    monkeypatch.setenv("GITHUB_WORKSPACE", str(ROOT))
    assert ci_path("orders/models.py") == "sample_project/orders/models.py"
