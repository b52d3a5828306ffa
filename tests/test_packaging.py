"""The wheel users install: only ``schemaops`` at the top, every module of the tree inside.

``checks/`` and ``backfill/`` are mapped into the package with setuptools
``package-dir``, and setuptools silently drops a subpackage that pyproject.toml
does not list: this builds the wheel from a copy of the tree and compares.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

import pytest
from support import ROOT

# source folder -> the package it installs as
MAPPING = {"schemaops": "schemaops", "checks": "schemaops/checks", "backfill": "schemaops/backfill"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for folder in MAPPING:
        shutil.copytree(ROOT / folder, src / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    base = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)]
    built = subprocess.run([*base, "--no-build-isolation"], capture_output=True, text=True)
    if built.returncode != 0:  # no setuptools in this venv: let pip fetch the build backend
        built = subprocess.run(base, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("schemaops-*.whl")
    return zipfile.ZipFile(path)


def source_modules() -> set[str]:
    """Where each .py file of the source tree must be in the wheel."""
    expected = set()
    for folder, target in MAPPING.items():
        for path in (ROOT / folder).rglob("*.py"):
            relative = path.relative_to(ROOT / folder)
            if "__pycache__" in relative.parts:
                continue
            expected.add(f"{target}/{relative.as_posix()}")
    return expected


def test_only_schemaops_is_installed_at_the_top(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"schemaops"}
    assert len(dist_info) == 1
    assert not any(n.startswith(("checks/", "backfill/", "tests/")) for n in wheel.namelist())


def test_every_module_of_the_tree_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    in_wheel = {n for n in wheel.namelist() if n.endswith(".py")}
    missing = sorted(source_modules() - in_wheel)
    assert not missing, f"not in the wheel (list the subpackage in pyproject.toml): {missing}"
    assert "schemaops/checks/drop_column.py" in in_wheel
    assert "schemaops/backfill/apps.py" in in_wheel
    assert "schemaops/management/commands/schemaops.py" in in_wheel


def test_wheel_ships_typing_marker_and_console_script(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "schemaops/py.typed" in names
    assert "schemaops/stats/stats.schema.json" in names  # the snapshot's documented schema
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "schemaops = schemaops.cli:main" in text
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    meta = wheel.read(metadata).decode()
    assert "Framework :: Django :: 5.2" in meta and "Framework :: Django :: 6.0" in meta
    assert "Requires-Python: >=3.11" in meta


def test_wheel_ships_the_admin_templates_and_static_files(wheel: zipfile.ZipFile) -> None:
    """Package data is easy to drop: every template and static file of backfill/ is in."""
    root = ROOT / "backfill"
    data = {
        f"schemaops/backfill/{p.relative_to(root).as_posix()}"
        for folder in ("templates", "static")
        for p in (root / folder).rglob("*")
        if p.is_file()
    }
    assert len(data) >= 5
    missing = sorted(data - set(wheel.namelist()))
    assert not missing, f"not in the wheel (add to [tool.setuptools.package-data]): {missing}"
