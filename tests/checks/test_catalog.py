"""The rule catalog: codes, names, docs and tests of every registered rule.

Fails when a rule lacks a doc section or a test file, when two rules share a
code or a name, or when docs/rules.md no longer matches the rules' docstrings
(regenerate it: ``schemaops rules --format markdown --full > docs/rules.md``).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemaops.checks import RULES, lookup
from schemaops.docs import rule_sections, rules_reference
from schemaops.rules import CATEGORIES, DOC_SECTIONS, Rule

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent.parent
ALL = sorted(RULES.values(), key=lambda r: r.code)
IDS = [r.code for r in ALL]


def test_registry_is_keyed_by_code_and_codes_are_unique() -> None:
    assert len(ALL) >= 10
    assert all(RULES[code].code == code for code in RULES)
    import schemaops.checks as registry

    every = registry._ALL  # every registered class, before de-duplication by code
    codes = [r.code for r in every]
    names = [r.name for r in every]
    assert len(codes) == len(set(codes)), f"duplicate codes: {_dupes(codes)}"
    assert len(names) == len(set(names)), f"duplicate names: {_dupes(names)}"


def _dupes(values: list[str]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


@pytest.mark.parametrize("rule", ALL, ids=IDS)
def test_identity(rule: type[Rule]) -> None:
    assert re.fullmatch(r"SO\d{3}", rule.code), rule.code
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name), rule.name
    assert lookup(rule.code) is rule and lookup(rule.name) is rule
    assert rule.category in CATEGORIES
    assert 0 < len(rule.summary) < 80, f"{rule.code} summary is {len(rule.summary)} chars"
    assert not rule.summary.endswith(".")


@pytest.mark.parametrize("rule", ALL, ids=IDS)
def test_docs_have_every_section(rule: type[Rule]) -> None:
    sections = rule_sections(rule)
    missing = [title for title in DOC_SECTIONS if not sections.get(title, "").strip()]
    assert not missing, f"{rule.code} {rule.name}: docstring lacks {missing}"


@pytest.mark.parametrize("rule", ALL, ids=IDS)
def test_each_rule_has_a_test_file_naming_its_code(rule: type[Rule]) -> None:
    module = rule.__module__.rsplit(".", 1)[-1]
    test_file = TESTS / f"test_{module}.py"
    assert test_file.is_file(), f"{rule.code}: no tests/checks/test_{module}.py"
    assert rule.code in test_file.read_text(encoding="utf-8"), (
        f"{test_file.name} never mentions {rule.code}"
    )


def test_docs_rules_md_is_generated_from_the_docstrings() -> None:
    current = (ROOT / "docs/rules.md").read_text(encoding="utf-8")
    fresh = rules_reference(list(RULES.values()))
    assert current == fresh, (
        "docs/rules.md is stale: run `schemaops rules --format markdown --full > docs/rules.md`"
    )


def test_reference_has_one_section_per_active_rule() -> None:
    text = rules_reference(list(RULES.values()))
    for rule in ALL:
        if not rule.retired:
            assert f"\n## {rule.code} {rule.name}\n" in text
            assert f"(#{rule.code.lower()}-{rule.name})" in text


def test_readme_states_the_number_of_active_rules() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"(\d+) rules \(`docs/rules\.md`", readme.replace("\n", " "))
    assert stated, "README.md no longer says how many rules there are"
    assert int(stated.group(1)) == len([r for r in ALL if not r.retired])
