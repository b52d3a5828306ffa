"""``trace --stats`` and ``migrate --plan --stats`` show the estimates ``check --stats`` makes."""

from __future__ import annotations

import json

from support import run_cli


def test_trace_lists_the_estimates_next_to_what_it_traced(small, shop_env):
    args = ("trace", "products", "0002", "--stats", str(small), "-q")
    run = run_cli(*args, "--format", "json", env=shop_env)
    assert run.returncode == 0, run.stderr
    estimates = {e["code"]: e for e in json.loads(run.stdout)["estimates"]}
    index = estimates["SO201"]
    assert (index["migration"], index["operation"]) == ("0002_product_category", 1)
    assert index["step"] == "index-build" and index["table"] == "products_product"
    assert index["rows"] == 1000 and 0 < index["ms"] < index["budget_ms"] == 250
    assert index["severity"] == "warning"

    text = run_cli(*args, env=shop_env)
    assert text.returncode == 0, text.stderr
    line = next(ln for ln in text.stdout.splitlines() if ln.startswith("estimate:"))
    assert "SO201 index-build on products_product (~1,000 rows)" in line
    assert "traced here:" in line


def test_migrate_plan_refuses_by_the_estimates(small, shop_env):
    label = "products.0002_product_category"
    static = run_cli("migrate", "--plan", env=shop_env)
    assert static.returncode == 0, static.stderr
    (line,) = [ln for ln in static.stdout.splitlines() if ln.strip().startswith(label)]
    assert "REFUSED" in line

    # --verbose: the plan's findings in full (the plain plan is one line per migration)
    sized = run_cli("migrate", "--plan", "--verbose", "--stats", str(small), env=shop_env)
    assert sized.returncode == 0, sized.stderr
    (line,) = [ln for ln in sized.stdout.splitlines() if ln.strip().startswith(label)]
    assert "REFUSED" not in line
    assert "the index build is estimated at" in sized.stdout
