"""The audit check registry: stable unique codes, full docs, and a test for every check."""

from __future__ import annotations

from pathlib import Path

from schemaops.audit import CHECKS, lookup
from schemaops.audit._base import DOC_SECTIONS

HERE = Path(__file__).parent


def test_codes_and_names_are_unique_and_well_formed():
    assert len({c.name for c in CHECKS.values()}) == len(CHECKS)
    for code, chk in CHECKS.items():
        assert code == chk.code and len(code) == 5 and code.startswith("AU")
        assert chk.name == chk.name.lower() and " " not in chk.name
        assert lookup(code.lower()) is chk and lookup(chk.name) is chk


def test_every_check_documents_what_why_and_fix():
    for chk in CHECKS.values():
        sections = chk.doc_sections()
        missing = [s for s in DOC_SECTIONS if not sections.get(s)]
        assert not missing, f"{chk.code} lacks {missing}"
        assert len(chk.summary) < 100, chk.code


def test_every_check_has_a_test_that_runs_it():
    text = "\n".join(p.read_text() for p in HERE.glob("test_*.py") if p.name != Path(__file__).name)
    untested = [code for code in CHECKS if f'"{code}"' not in text]
    assert not untested


def test_docs_describe_every_check():
    doc = (HERE.parent.parent / "docs" / "audit.md").read_text()
    for chk in CHECKS.values():
        assert f"### {chk.code} `{chk.name}`" in doc, chk.code
