"""The rules reference (``docs/rules.md``), generated from the rules' own docstrings.

Regenerate it with::

    schemaops rules --format markdown --full > docs/rules.md

``tests/checks/test_catalog.py`` fails when the file differs from what this
module generates, so the reference cannot drift from the code.
"""

from __future__ import annotations

import sys
from typing import Any

HEADER = """\
# Rules reference

<!-- Generated from the rules' docstrings by
     `schemaops rules --format markdown --full > docs/rules.md`. Do not edit by hand. -->

Every rule of `schemaops check`, with its stable code. Turn one off with
`ignore = ["SO201"]` in `[tool.schemaops]`, change its severity with
`severity = { SO201 = "warning" }`, or suppress one finding in the migration
file with a reason. `schemaops explain CODE` prints the same text in a terminal.
"""


def rule_sections(rule: Any) -> dict[str, str]:
    """The ``## Section`` parts of a rule's docs: its class docstring, else its module's.

    The ``""`` key holds the text before the first section.
    """
    from schemaops.rules import parse_doc

    sections: dict[str, str] = rule.doc_sections()
    if len(sections) <= 1:
        module = sys.modules.get(rule.__module__)
        sections = parse_doc(getattr(module, "__doc__", None) or "")
    return sections


DOCS_URL = "https://github.com/schemaops/schemaops/blob/main/docs/rules.md"


def rule_url(rule: Any) -> str:
    """Where the rule's section of the reference is published."""
    return f"{DOCS_URL}#{anchor(rule)}"


def rule_help(rule: Any) -> str:
    """The rule's docs as one markdown text (SARIF ``help``: code scanning shows it)."""
    sections = rule_sections(rule)
    parts = [rule.summary]
    for title in ("Why is this bad?", "Use instead", "Example"):
        if sections.get(title):
            parts.append(f"**{title}**\n\n{sections[title]}")
    return "\n\n".join(parts)


def anchor(rule: Any) -> str:
    """The anchor GitHub gives the rule's heading ``## SO101 drop-column``."""
    return f"{rule.code.lower()}-{rule.name}"


def rules_reference(rules: list[Any]) -> str:
    """The whole reference page for ``rules`` (sorted by code), as markdown."""
    rules = sorted(rules, key=lambda r: r.code)
    active = [r for r in rules if not r.retired]
    retired = [r for r in rules if r.retired]
    out = [HEADER, "| code | name | severity | category | summary |", "|---|---|---|---|---|"]
    for r in active:
        out.append(
            f"| [{r.code}](#{anchor(r)}) | `{r.name}` | {r.severity.label} | {r.category} "
            f"| {r.summary} |"
        )
    for r in active:
        out += ["", *_rule_section(r)]
    if retired:
        out += ["", "## Retired codes", "", "These codes are never reused.", ""]
        out += [f"- {r.code} `{r.name}`: {r.summary}" for r in retired]
    return "\n".join(out) + "\n"


def _rule_section(rule: Any) -> list[str]:
    sections = rule_sections(rule)
    lines = [
        f"## {rule.code} {rule.name}",
        "",
        f"**{rule.severity.label}** · {rule.category} · {rule.summary}",
    ]
    for title, body in sections.items():
        if title and body:
            lines += ["", f"### {title}", "", body]
    return lines
