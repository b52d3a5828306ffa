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
imported (the module's name starts with a digit); it is left alone here, and
the planner's writer (:func:`schemaops.remedy.writer.with_local_definitions`)
copies its source into the files it writes.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import symtable
import sys
from functools import lru_cache
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


def missing_imports(header: str, operations: list[str], migration_module: str | None) -> list[str]:
    """Import lines for the names ``operations`` read that ``header`` (imports) leaves unbound."""
    known = _names_bound(header)
    free: set[str] = set()
    for op in operations:
        names = _names_read(op)
        if names is None:  # not code on its own (lines of one operation): read them together
            together = _names_read("\n".join(operations))
            if together is not None:
                free = set(together - known)
                break
            continue
        if not names <= known:
            free |= names - known
    if not free:
        return []
    chains = _chains("\n".join(operations), free)
    home = sys.modules.get(migration_module or "")
    lines: list[str] = []
    for name in sorted(free):
        lines.extend(_resolve(name, chains.get(name, []), home))
    return list(dict.fromkeys(lines))


_BUILTINS = frozenset(dir(builtins))


@lru_cache(maxsize=8192)
def _names_read(code: str) -> frozenset[str] | None:
    """Names the code reads and does not bind itself (the compiler's own symbol table)."""
    try:
        table = symtable.symtable(code, "recipe", "exec")
    except SyntaxError:
        return None
    names: set[str] = set()
    tables = [table]
    while tables:
        current = tables.pop()
        for symbol in current.get_symbols():
            if symbol.is_referenced() and not (
                symbol.is_assigned() or symbol.is_imported() or symbol.is_parameter()
            ):
                names.add(symbol.get_name())
        tables.extend(current.get_children())
    return frozenset(names)


@lru_cache(maxsize=256)
def _names_bound(header: str) -> frozenset[str]:
    """The names an import block binds, and the builtins."""
    try:
        tree = ast.parse(header)
    except SyntaxError:
        return _BUILTINS
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return frozenset(names) | _BUILTINS


def _chains(code: str, free: set[str]) -> dict[str, list[list[str]]]:
    """The whole dotted chains (``django.db.models.deletion.CASCADE``) read from ``free``."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return {}
    attributes = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    inner = {id(n.value) for n in attributes}
    chains: dict[str, list[list[str]]] = {}
    for node in attributes:
        if id(node) not in inner and (parts := _chain(node)) and parts[0] in free:
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
