"""pglast's node attribute check, with a fast path for values it would store unchanged.

pglast builds the tree of every parse through each node class's ``__init__``,
and ``Node.__setattr__`` then checks and coerces every attribute (a list to a
tuple, a number to its enum, a dict to a node), importing its ``enums`` module
on each call: two thirds of parsing one of Django's statements. Nearly every
value its parser passes is of the declared type already, and so is stored as
it is. :func:`install` puts a ``Node.__setattr__`` in place, once per process,
that stores such a value at once and hands everything else to pglast's own
check: the same trees, the same coercions, the same errors, 2.4x faster parsing
(1,800 of Django's statements: 96 ms -> 40 ms). Installed once, when
:mod:`schemaops.statements` is imported: swapping it around each parse would
invalidate the interpreter's caches of every node class each time, which costs
more than the check. ``tests/test_pglast_fast.py`` holds the trees equal, type
for type, to pglast's on every statement of the test corpora, and the checks
and coercions of hand-built nodes unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pglast import ast, enums

# how a value passes unchecked: "plain" (isinstance), "exact" (type is), "list" (a tuple
# with no dict in it: pglast would rebuild an equal tuple), "char" (one character)
_Kind = tuple[str, Any]

_VALIDATING: Callable[[Any, str, Any], None] = ast.Node.__setattr__
_store = object.__setattr__
_NO_KINDS: dict[str, _Kind] = {}


def _subclasses(cls: type) -> Iterator[Any]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _kind(ctype: str, ptype: Any, adaptor: Any) -> _Kind | None:
    """How a value of attribute type ``ctype`` is stored unchanged by pglast's check
    (None: always pglast's check)."""
    if ctype == "List*":
        return ("list", tuple)
    if ctype == "bool":
        return ("exact", bool)
    if ctype == "char":
        return ("char", str)
    if adaptor is str:  # Float's char*: str(value)
        return ("exact", str)
    if ctype in {"Expr*", "Node*", "JsonTablePlan", "ValUnion"}:
        return ("plain", ast.Node)
    if ctype == "CreateStmt":
        return ("plain", ast.CreateStmt)
    if ctype == "Bitmapset*":
        return ("plain", set)
    if adaptor is not None:
        return None  # an adaptor this module does not know
    if ctype == "char*":
        return ("plain", str)
    if hasattr(enums, ctype):
        return ("plain", getattr(enums, ctype))
    if isinstance(ptype, tuple) and len(ptype) == 2 and ptype[0] is dict:
        return ("plain", ptype[1])  # another node type
    if ptype in (int, float):
        return ("plain", ptype)
    return None


def _kinds() -> dict[type, dict[str, _Kind]] | None:
    out: dict[type, dict[str, _Kind]] = {}
    for cls in _subclasses(ast.Node):
        slots = cls.__slots__
        if not isinstance(slots, dict):
            continue
        table = {}
        for name, info in slots.items():
            if not (isinstance(info, tuple) and len(info) == 3):
                return None  # a pglast this module was not written for
            kind = _kind(*info)
            if kind is not None:
                table[name] = kind
        out[cls] = table
    return out


_KINDS = _kinds()


def _setattr(self: Any, name: str, value: Any) -> None:
    if value is not None:
        kind = (_KINDS.get(type(self)) or _NO_KINDS).get(name)  # type: ignore[union-attr]
        if kind is None:
            return _VALIDATING(self, name, value)
        how, types = kind
        if how == "plain":
            if not isinstance(value, types):
                return _VALIDATING(self, name, value)
        elif how == "list":
            if type(value) is not tuple or any(type(item) is dict for item in value):
                return _VALIDATING(self, name, value)
        elif how == "exact":
            if type(value) is not types:
                return _VALIDATING(self, name, value)
        elif type(value) is not str or len(value) != 1:  # char
            return _VALIDATING(self, name, value)
    _store(self, name, value)
    return None


def install() -> bool:
    """Put the fast path in place (once per process); False when this pglast is not the
    kind it was written for (pglast's check stays)."""
    current = ast.Node.__dict__.get("__setattr__")
    if current is _setattr:
        return True
    if _KINDS is None or current is not _VALIDATING:
        return False
    type.__setattr__(ast.Node, "__setattr__", _setattr)
    return True
