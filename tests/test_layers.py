"""The import layers of docs/architecture.md hold, checked on the package as installed.

import-linter reads the contracts in pyproject.toml. It cannot follow setuptools'
``package-dir`` in the source tree (``checks/`` is ``schemaops.checks`` only once
installed), so the tree is assembled the way the wheel lays it out. One more rule
import-linter has no contract for is checked here with grimp, the graph library
it is built on: a private module (``_name``) is imported only from inside the
package that holds it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT
from test_packaging import MAPPING

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def assemble(dest: Path) -> Path:
    """The package as the wheel installs it, under ``dest``; returns the site folder."""
    site = dest / "site"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder, target in MAPPING.items():
        shutil.copytree(ROOT / folder, site / target, ignore=ignore)
    return site


def lint_imports(site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=site,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


# Run in a process of its own: this one already imported schemaops from the source tree.
_PRIVATE_CROSSINGS = """
import json
import grimp

graph = grimp.build_graph("schemaops", cache_dir=None)
crossings = []
for imported in sorted(graph.modules):
    parts = imported.split(".")
    private = [i for i, part in enumerate(parts) if part.startswith("_") and part[1:2] != "_"]
    if not private:
        continue
    owner = ".".join(parts[: private[0]])
    for importer in sorted(graph.find_modules_that_directly_import(imported)):
        if importer != owner and not importer.startswith(owner + "."):
            crossings.append(f"{importer} -> {imported}")
print(json.dumps(crossings))
"""


def private_imports_across_packages(site: Path) -> list[str]:
    """Imports of a ``_private`` module from outside the package that holds it."""
    result = subprocess.run(
        [sys.executable, "-c", _PRIVATE_CROSSINGS],
        cwd=site,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    crossings: list[str] = json.loads(result.stdout)
    return crossings


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assemble(tmp_path_factory.mktemp("layers"))


def test_the_contracts_hold(site: Path) -> None:
    result = lint_imports(site)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def test_no_package_imports_another_ones_private_module(site: Path) -> None:
    assert private_imports_across_packages(site) == []


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        ("plan.py", "from schemaops.checks import _lockmap\n"),  # the core reaching a rule helper
        ("trace/runner.py", "from schemaops.cli import _options\n"),  # an engine importing the CLI
        ("tune/formulas.py", "import schemaops.audit.runner\n"),  # a lower engine, a higher one
    ],
)
def test_a_planted_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, planted: str
) -> None:
    site = assemble(tmp_path)
    path = site / "schemaops" / module
    path.write_text(path.read_text() + "\n" + planted)
    result = lint_imports(site)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout


def test_a_planted_private_import_is_found(tmp_path: Path) -> None:
    site = assemble(tmp_path)
    path = site / "schemaops" / "audit" / "runner.py"
    path.write_text(path.read_text() + "\nfrom schemaops.tune import _private_helper\n")
    (site / "schemaops" / "tune" / "_private_helper.py").write_text("X = 1\n")
    assert private_imports_across_packages(site) == [
        "schemaops.audit.runner -> schemaops.tune._private_helper"
    ]
