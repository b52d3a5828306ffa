"""'Did you mean' for rule codes and names, audit checks and backfill models."""

from __future__ import annotations

import pytest
from support import run_cli

from schemaops.config import Config
from schemaops.errors import ConfigError
from schemaops.linter import select_rules
from schemaops.spelling import did_you_mean


def test_did_you_mean_picks_close_names_case_insensitively():
    assert did_you_mean("ordr", ["Order", "Customer"]) == " (did you mean Order?)"
    assert did_you_mean("zzz", ["Order"]) == ""


@pytest.mark.parametrize(
    ("ref", "hint"),
    [("SO2O1", "(did you mean SO201?)"), ("drop-colum", "did you mean drop-column")],
)
def test_explain_suggests_the_rule_meant(ref, hint):
    proc = run_cli("explain", ref)
    assert proc.returncode == 2 and hint in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_an_unknown_rule_in_the_configuration_suggests_one():
    with pytest.raises(ConfigError, match=r"unknown rule 'add-index-non-concurently' \(did you"):
        select_rules(Config(ignore=("add-index-non-concurently",)))


def test_a_backfill_target_with_a_typo_names_the_model_meant():
    from schemaops.backfill.spec import resolve

    with pytest.raises(ConfigError, match=r"\(did you mean Order( or \w+)?\?\)"):
        resolve("orders.Ordr", ("total_cents = 1",))


def test_an_unknown_audit_check_suggests_one():
    from schemaops.audit.runner import select

    with pytest.raises(ConfigError, match=r"did you mean AU40[123]"):
        select(["AU40"])
