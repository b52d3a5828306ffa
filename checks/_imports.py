"""The import lines a recipe module needs, found from the names its code uses.

Recipes reuse the user's own fields and operations, so their code names
things the migration under check imported (``django.db.models.deletion``,
``settings``, ``GinIndex``, a project's ``oauth2_provider.models``) or that a
value's ``deconstruct()`` path named (``Q``, ``Upper``, ``Decimal``). A name
the recipe leaves unbound would make the pasted migration fail on import.
:func:`missing_imports` reads the recipe's code, finds the names nothing
binds, and resolves each one:

1. a dotted chain from a package (``django.db.models.deletion.CASCADE``)
   becomes ``import django.db.models.deletion``;
2. a name the migration module has (``from django.conf import settings``)
   is imported from where its object lives;
3. else the modules recipes draw their values from are asked for it.

A function or class defined in the migration module itself cannot be
imported (the module's name starts with a digit); the recipe tells the
reader to copy it along, so it is left alone.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import sys
from types import ModuleType
from typing import Any

# where a deconstructed value's short class name comes from
KNOWN_MODULES = (
    "django.conf",
    "django.db.models",
    "django.db.models.functions",
    "django.contrib.postgres.indexes",
    "django.contrib.postgres.constraints",
    "django.contrib.postgres.fields",
    "django.contrib.postgres.search",
    "django.contrib.postgres.operations",
    "django.core.validators",
    "decimal",
    "datetime",
    "uuid",
)


def missing_imports(code: str, migration_module: str | None) -> list[str]:
    """Import lines for the names ``code`` (a whole migration module) leaves unbound."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    bound = _bound_names(tree) | set(dir(builtins))
    home = sys.modules.get(migration_module or "")
    lines: list[str] = []
    for name, chains in _free_names(tree, bound).items():
        lines.extend(_resolve(name, chains, home))
    return list(dict.fromkeys(lines))


def _bound_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _free_names(tree: ast.Module, bound: set[str]) -> dict[str, list[list[str]]]:
    """Unbound names, each with the whole dotted attribute chains read from it."""
    inner = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
    }
    chains: dict[str, list[list[str]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            chains.setdefault(node.id, [])
        elif isinstance(node, ast.Attribute) and id(node) not in inner:
            parts = _chain(node)
            if parts and parts[0] not in bound:
                chains.setdefault(parts[0], []).append(parts)
    return chains


def _chain(node: ast.Attribute) -> list[str] | None:
    parts: list[str] = []
    current: ast.expr = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    return [current.id, *reversed(parts)]


def _resolve(name: str, chains: list[list[str]], home: ModuleType | None) -> list[str]:
    if name in sys.modules or isinstance(getattr(home, name, None), ModuleType):
        return [f"import {_longest_module(chain)}" for chain in chains or [[name]]]
    if home is not None and hasattr(home, name):
        obj = getattr(home, name)
        module = getattr(obj, "__module__", None)
        if module and module != home.__name__ and _exports(module, name, obj):
            return [f"from {module} import {name}"]
        return []  # defined in the migration module itself: the recipe says to copy it along
    for module in KNOWN_MODULES:
        if _exports(module, name, None):
            return [f"from {module} import {name}"]
    return []


def importable_by_name(name: str) -> bool:
    """Can a recipe write ``name`` alone and have it imported from a known module?"""
    return any(_exports(module, name, None) for module in KNOWN_MODULES)


def _longest_module(chain: list[str]) -> str:
    """``django.db.models.deletion`` for ``django.db.models.deletion.CASCADE``."""
    for end in range(len(chain), 0, -1):
        dotted = ".".join(chain[:end])
        if dotted in sys.modules:
            return dotted
    return chain[0]


def _exports(module: str, name: str, obj: Any) -> bool:
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    return obj is None or found is obj
