"""``check --stats``: the same migration is judged by the size of the table it locks."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from support import SAMPLE, run_cli

from schemaops.findings import BlockingStep, Finding, Severity
from schemaops.stats.estimate import apply_estimates, parse_budget_ms, with_server_memory
from schemaops.stats.model import CostModel, Step


def check(*args: str) -> tuple[int, dict[str, dict]]:
    run = run_cli("check", *args, "--format", "json")
    assert run.returncode in (0, 1), run.stderr
    findings = json.loads(run.stdout)["findings"]
    return run.returncode, {f["code"]: f for f in findings}


def test_same_migration_is_an_error_on_a_large_table_and_a_warning_on_a_small(
    sized_snapshot,
):
    small = sized_snapshot(1_000)
    large = sized_snapshot(800_000)

    status, on_small = check("products", "0002", "--stats", str(small))
    assert status == 0
    assert on_small["SO201"]["severity"] == "warning"
    assert "products_product has ~1,000 rows" in on_small["SO201"]["message"]
    assert "within the ~250 ms lock budget" in on_small["SO201"]["message"]
    assert on_small["SO209"]["severity"] == "warning"

    status, on_large = check("products", "0002", "--stats", str(large))
    assert status == 1
    assert on_large["SO201"]["severity"] == "error"
    assert "~800,000 rows" in on_large["SO201"]["message"]
    assert "over the ~250 ms lock budget" in on_large["SO201"]["message"]

    # the budget is configurable: a generous one lets the large table through
    status, relaxed = check("products", "0002", "--stats", str(large), "--lock-budget", "1min")
    assert status == 0 and relaxed["SO201"]["severity"] == "warning"


def test_without_stats_and_for_unknown_tables_the_static_rules_hold(small, tmp_path):
    status, static = check("products", "0002")
    assert status == 1 and static["SO201"]["severity"] == "error"
    assert "estimated" not in static["SO201"]["message"]

    data = json.loads(small.read_text("utf-8"))
    data["tables"] = [t for t in data["tables"] if t["name"] != "products_product"]
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps(data), encoding="utf-8")
    status, findings = check("products", "0002", "--stats", str(unknown))
    assert status == 1 and findings["SO201"]["severity"] == "error"
    assert "estimated" not in findings["SO201"]["message"]


def test_a_non_additive_break_stays_an_error_on_a_tiny_table(small):
    status, findings = check("orders", "0005", "--stats", str(small))
    assert status == 1 and findings["SO101"]["severity"] == "error"

    # even a drop that carried a blocking step is never downgraded: old code breaks
    drop = Finding("SO101", "drop-column", Severity.ERROR, "RemoveField drops x")
    drop.blocking = BlockingStep(Step.REWRITE, "products_product")
    index = Finding("SO201", "add-index-non-concurrently", Severity.ERROR, "AddIndex builds i")
    index.blocking = BlockingStep(Step.INDEX_BUILD, "products_product")
    done = apply_estimates([drop, index], json.loads(small.read_text("utf-8")))
    assert len(done) == 2
    assert drop.severity is Severity.ERROR and "estimated" in drop.message
    assert index.severity is Severity.WARNING


def test_cost_overrides_from_pyproject_change_the_verdict(small, tmp_path):
    config = tmp_path / "pyproject.toml"
    config.write_text(
        '[tool.schemaops]\nsettings = "shop.settings"\npg-version = 15\n'
        f'stats = "{small.name}"\n'
        "[tool.schemaops.stats-cost.index-build]\nfixed-ms = 5000\n",
        encoding="utf-8",
    )
    status, findings = check("products", "0002", "--config", str(config))
    assert status == 1 and findings["SO201"]["severity"] == "error"
    assert "~5.0 s" in findings["SO201"]["message"]


@pytest.mark.parametrize(
    ("extra", "toml", "message"),
    [
        (("--stats", "missing.json"), "", "cannot read stats snapshot missing.json"),
        (("--stats", "pyproject.toml"), "", "is not JSON"),
        (("--stats", "{snap}", "--lock-budget", "soon"), "", "bad lock budget 'soon'"),
        ((), 'stats = "{snap}"\nstats-cost = {{ index-build = {{ speed = 1 }} }}', "speed"),
        ((), 'stats = "{snap}"\nstats-cost = {{ merge = {{ fixed-ms = 1 }} }}', "unknown step"),
    ],
)
def test_bad_stats_input_is_one_line_and_exit_2(small, tmp_path, extra, toml, message):
    config = tmp_path / "pyproject.toml"
    body = toml.format(snap=small)
    head = f'[tool.schemaops]\nsettings = "shop.settings"\npythonpath = "{SAMPLE}"\n'
    config.write_text(f"{head}{body}\n", "utf-8")
    args = [a.format(snap=small) for a in extra]
    run = run_cli("check", "products", "0002", "--config", str(config), *args, cwd=tmp_path)
    assert run.returncode == 2, run.stdout
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_budget_parsing_and_model_shape():
    assert parse_budget_ms("250ms") == 250 and parse_budget_ms("2s") == 2000
    assert parse_budget_ms("0.5min") == 30_000 and parse_budget_ms("40") == 40
    model = CostModel()
    from schemaops.stats.model import TableSize

    small, big = TableSize(10_000, 800_000, 1), TableSize(10_000_000, 800_000_000, 1)
    for step in Step:
        assert model.estimate_ms(step, big) > 10 * model.estimate_ms(step, small)
    # a rewrite rebuilds the table's indexes as well
    more = TableSize(big.rows, big.heap_bytes, 3)
    assert model.estimate_ms(Step.REWRITE, more) > model.estimate_ms(Step.REWRITE, big)
    # a foreign key validation whose referenced keys outgrow maintenance_work_mem spills
    roomy = replace(model, maintenance_work_mem=2**30)
    spilled = model.estimate_ms(Step.FK_VALIDATION, big, big)
    assert spilled > 1.3 * roomy.estimate_ms(Step.FK_VALIDATION, big, big)
    snapshot = {"settings": {"maintenance_work_mem": {"setting": "1048576", "unit": "kB"}}}
    assert with_server_memory(model, snapshot).maintenance_work_mem == 2**30
