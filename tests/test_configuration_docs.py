"""docs/configuration.md documents every key; the shell completion it shows works."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

from schemaops.config import Config

DOC = (Path(__file__).resolve().parent.parent / "docs/configuration.md").read_text("utf-8")


def test_every_key_of_tool_schemaops_is_documented():
    keys = [f.name.replace("_", "-") for f in fields(Config) if f.name != "root"]
    missing = [key for key in keys if f"| `{key}` |" not in DOC]
    assert not missing, f"add to docs/configuration.md: {missing}"


def test_clicks_completion_completes_subcommands():
    exe = Path(sys.executable).parent / "schemaops"  # the console script of this venv
    env = {**os.environ, "_SCHEMAOPS_COMPLETE": "bash_complete", "COMP_WORDS": "schemaops ch",
           "COMP_CWORD": "1"}  # fmt: skip
    out = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=60)
    assert "plain,check" in out.stdout.splitlines()
    assert "_SCHEMAOPS_COMPLETE=bash_source schemaops" in DOC


def test_the_pre_commit_rev_the_docs_name_is_this_release():
    """`rev:` in the docs is the tag of this version (the release tag v<__version__>), so a
    user who copies it gets the hook this documentation describes."""
    import re

    from schemaops import __version__

    root = Path(__file__).resolve().parent.parent
    texts = {p: (root / p).read_text("utf-8") for p in ("docs/ci.md", ".pre-commit-hooks.yaml")}
    for path, text in texts.items():
        revs = re.findall(r"rev:\s*(\S+)", text)
        assert revs, path
        assert set(revs) == {f"v{__version__}"}, (path, revs)
