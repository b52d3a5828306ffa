"""Reading migration files: operation line numbers and suppression comments.

Only files that have findings are read. Suppressions are comments with a
reason, so a reviewer sees why a rule was silenced::

    migrations.RemoveField("order", "legacy"),  # schemaops: ignore[SO101] column unused since v41

    # schemaops: ignore[add-index-non-concurrently] table has 200 rows
    migrations.AddIndex(...),

    # schemaops: ignore-file[SO301] data migration is one-way by design

A suppression on the line above an operation, or on any of its lines, covers
that operation; ``ignore-file`` covers the whole migration. Codes or rule
names are accepted. A suppression without a reason does not count.

Operation lines come from the bytecode Python compiled when Django imported the
file (:func:`compiled_while_importing`) for the plain ``operations = [call(...),
...]`` nearly every migration has: the positions Python keeps for each call are
the AST's own. Anything else is parsed (:mod:`ast`).
"""

from __future__ import annotations

import ast
import dis
import importlib.machinery
import io
import os
import re
import sys
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any

from schemaops.findings import Location

if TYPE_CHECKING:
    from schemaops._precompile import Precompiled

# Not SQL: this reads Python comments written for schemaops itself.
_DIRECTIVE = re.compile(
    r"#\s*schemaops:\s*(?P<kind>ignore-file|ignore)\s*\[(?P<codes>[^\]]*)\]\s*(?P<reason>.*)$"
)


@dataclass
class Suppression:
    line: int
    codes: frozenset[str]
    reason: str
    whole_file: bool
    used: bool = False


Span = tuple[int, int]  # first and last line of one operation


@dataclass
class MigrationSource:
    path: str
    spans: list[Span] = field(default_factory=list)  # operation i -> (first, last)
    suppressions: list[Suppression] = field(default_factory=list)
    # the line of ``operations = ...`` (else of the Migration class): where a finding
    # about the whole migration, or about an operation without a span, points
    anchor: int | None = None
    # every ``operations`` list the class body may build (branches of an ``if``)
    candidates: list[list[Span]] = field(default_factory=list)

    def fit(self, count: int | None) -> MigrationSource:
        """This file with the candidate list of ``count`` operations (the branch that ran).

        A shallow copy: the cached original keeps its first candidate, and the copy
        shares its suppressions (their ``used`` flags count across every read). The
        file itself when that candidate is already its own (nearly every file).
        """
        for spans in self.candidates if count is not None else ():
            if len(spans) == count:
                return self if spans is self.spans else replace(self, spans=spans)
        return self

    def line_of(self, operation: int | None) -> int | None:
        if operation is None or operation >= len(self.spans):
            return self.anchor
        return self.spans[operation][0]

    def suppression_for(self, operation: int | None, code: str, name: str) -> Suppression | None:
        for sup in self.suppressions:
            if not ({code, name} & sup.codes) or not sup.reason:
                continue
            if sup.whole_file:
                return sup
            if operation is not None and operation < len(self.spans):
                first, last = self.spans[operation]
                if first - 1 <= sup.line <= last:
                    return sup
        return None


def read(path: str, operations: int | None = None) -> MigrationSource:
    """The file's operation spans and suppressions; ``operations`` picks the branch that ran."""
    return _read(path).fit(operations)


@lru_cache(maxsize=4096)
def _read(path: str) -> MigrationSource:
    source = MigrationSource(path)
    compiled = _compiled.pop(path, None)
    try:
        text, stamp = _imported_text(path, compiled) if compiled else _text(path)
        found = (
            _compiled_operations(compiled[0], text) if compiled and compiled[1] == stamp else None
        )
        tree = _migration_class(text) if found is None else None
    except (OSError, SyntaxError, ValueError):
        return source
    if found is not None:
        source.anchor, source.spans = found
        source.candidates = [source.spans]
    elif tree is not None:
        node, offset = tree
        source.anchor = node.lineno
        _collect_operations(node.body, source)
        source.candidates = [[(a + offset, b + offset) for a, b in c] for c in source.candidates]
        source.anchor += offset
        source.spans = source.candidates[0] if source.candidates else []
    # Tokenizing is the slow part; most files have no directive at all.
    if "schemaops:" in text:
        source.suppressions = _suppressions(text)
    return source


Stamp = tuple[int, int]  # a file's size and modification time (ns)
# a module's code, its file's stamp at import, and the file's bytes when compiled from them
Compiled = tuple[CodeType, Stamp, bytes | None]


def _text(path: str) -> tuple[str, Stamp]:
    """The file as ``open(path, encoding="utf-8").read()`` has it (universal newlines),
    without the text layer: setting up its decoder costs more than a small file's read;
    and its stamp, to tell whether it is still the file Django imported."""
    with open(path, "rb") as handle:
        data = handle.read()
        stat = os.fstat(handle.fileno())
    return _decoded(data), (stat.st_size, stat.st_mtime_ns)


def _imported_text(path: str, compiled: Compiled) -> tuple[str, Stamp]:
    """:func:`_text`, from the bytes Python compiled when the file has not changed since."""
    data = compiled[2]
    if data is None:
        return _text(path)
    stat = os.stat(path)
    stamp = (stat.st_size, stat.st_mtime_ns)
    return (_decoded(data), stamp) if stamp == compiled[1] else _text(path)


def _decoded(data: bytes) -> str:
    text = data.decode("utf-8")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def location_of(migration: Any, operation: int | None) -> Location:
    """Where ``migration`` (a loaded Migration instance, or None) holds ``operation``: its
    file relative to the working directory and the operation's line (None: the class);
    an empty Location when the file is unknown."""
    from schemaops.selection import relative

    module = sys.modules.get(type(migration).__module__) if migration is not None else None
    path = getattr(module, "__file__", None)
    if not path:
        return Location()
    src = read(path, len(getattr(migration, "operations", ())))
    return Location(relative(path, Path.cwd()), src.line_of(operation))


def clear_cache() -> None:
    """Forget what was read: fresh files, fresh ``Suppression.used`` flags."""
    _read.cache_clear()


# file -> the module code Python compiled (or loaded from its .pyc) when Django
# imported it, and the file's stamp then; taken (popped) by its first read, which
# may come after a clear_cache() (the linter clears before it starts)
_compiled: dict[str, Compiled] = {}


@contextmanager
def compiled_while_importing(
    precompiled: Precompiled | None = None,
) -> Iterator[dict[str, Compiled]]:
    """Keep the code of every module imported from a ``.py`` file inside, by file.

    Django's MigrationLoader imports each migration module; reading its operations'
    lines from that code spares parsing the file again (half the cost of reading it). Only
    the import system's own source loader is watched, wherever the package is
    (namespace packages, ``MIGRATION_MODULES``); a ``.pyc``-only module or one
    from another loader is simply not kept, and is parsed. A module compiled from
    its source (no valid ``.pyc``) keeps those bytes too: its first read need not
    open the file again. Yields what was kept: the caller keeps the migration
    modules' (:func:`keep_compiled`). ``precompiled``: code another process compiled
    from the same bytes, taken instead of compiling (see :mod:`schemaops._precompile`).
    """
    loader = importlib.machinery.SourceFileLoader
    own = {name: loader.__dict__.get(name) for name in ("get_code", "source_to_code")}
    inherited_get_code, inherited_source_to_code = loader.get_code, loader.source_to_code
    seen: dict[str, Compiled] = {}
    sources: dict[str, bytes] = {}  # the files compiled from source (no valid .pyc)

    def get_code(self: Any, fullname: str) -> CodeType | None:
        code = inherited_get_code(self, fullname)
        path = self.get_filename(fullname)
        if code is not None and path.endswith(".py"):
            stat = os.stat(path)
            seen[path] = (code, (stat.st_size, stat.st_mtime_ns), sources.pop(path, None))
        return code

    def source_to_code(self: Any, data: Any, path: Any, *args: Any, **kwargs: Any) -> CodeType:
        if isinstance(data, bytes) and isinstance(path, str):
            sources[path] = data
            if precompiled is not None and not args and not kwargs:
                code = precompiled.take(path, data)
                if code is not None:
                    return code
        return inherited_source_to_code(self, data, path, *args, **kwargs)

    loader.get_code = get_code  # type: ignore[method-assign]
    loader.source_to_code = source_to_code  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        for name, method in own.items():
            if method is None:
                delattr(loader, name)
            else:
                setattr(loader, name, method)


def keep_compiled(seen: dict[str, Compiled], paths: set[str]) -> None:
    """Keep the code of these files (the migration modules) for their first read."""
    _compiled.update((path, seen[path]) for path in paths if path in seen)


_CACHE = dis.opmap.get("CACHE", 0)
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]
_STORE_NAME = dis.opmap["STORE_NAME"]
_BUILDS = frozenset(dis.opmap[n] for n in ("BUILD_LIST", "BUILD_TUPLE"))
_CALLS = frozenset(dis.opmap[n] for n in ("CALL", "CALL_KW") if n in dis.opmap)
_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)


def _compiled_operations(module: CodeType, text: str) -> tuple[int, list[Span]] | None:
    """The anchor and spans of ``operations = [call(...), ...]`` read from bytecode.

    None unless the file is the plain shape, where this is provably what the AST
    gives: one top-level ``class Migration(`` whose code is the one compiled, the
    word ``operations`` once in the file (no second assignment, ``+=``, ``append``,
    ...), no branch or loop in the class body (nor an ``else`` of a conditional
    expression whose constant test left no branch), and a list or tuple built right
    before being stored whose every element is a call. A call instruction's
    position is its Call node's first and last line, as the AST has them (columns
    present: ``-X no_debug_ranges`` keeps lines only, and not the last one).
    """
    start = text.find("class Migration(")
    if text.count("operations") != 1 or start < 0 or (start and text[start - 1] != "\n"):
        return None
    if "else" in text[start:]:  # an ``x if 0 else call()`` compiles to the call alone
        return None
    if text.find("class Migration(", start + 1) >= 0:
        return None
    line = text.count("\n", 0, start) + 1
    classes = [c for c in module.co_consts if isinstance(c, CodeType) and c.co_name == "Migration"]
    if len(classes) != 1 or classes[0].co_firstlineno != line:
        return None
    return _operation_spans(classes[0])


def _operation_spans(code: CodeType) -> tuple[int, list[Span]] | None:
    """Walk back from ``STORE_NAME operations`` through the built list's elements.

    The elements' values sit on the stack in order; walking back from the build,
    the stack depth (from each instruction's stack effect; there is no jump) first
    falls back to ``k + 1`` at the instruction that ended element ``k``.
    """
    raw = code.co_code
    if not _JUMPS.isdisjoint(raw[::2]) or "operations" not in code.co_names:
        return None
    name = code.co_names.index("operations")
    store = _find_store(raw, name)
    if store is None:
        return None
    build = _previous(raw, store)
    if build is None or build[0] not in _BUILDS or build[1] == 0:
        return None
    count = build[1]
    ends: list[int] = []
    depth = count  # above the list's base, after the instruction before the build
    step = _previous(raw, build[3])
    while step is not None:
        op, arg, unit, first_unit = step
        element = count - len(ends)  # the depth right after element `element - 1` ends
        if depth <= element:
            if depth != element or op not in _CALLS:
                return None
            ends.append(unit)
            if len(ends) == count:
                break
        depth -= dis.stack_effect(op, arg if op >= dis.HAVE_ARGUMENT else None)
        step = _previous(raw, first_unit)
    else:
        return None
    positions = list(code.co_positions())
    spans: list[Span] = []
    for unit in reversed(ends):
        first, last, column, _ = positions[unit]
        if first is None or last is None or column is None:
            return None
        spans.append((first, last))
    anchor = positions[store][0]
    return (anchor, spans) if anchor is not None else None


def _find_store(raw: bytes, name: int) -> int | None:
    """The code unit of the first ``STORE_NAME name`` (name index below 256)."""
    if name > 255:
        return None
    at = raw.find(bytes((_STORE_NAME, name)))
    while at >= 0 and (at % 2 or (at and raw[at - 2] == _EXTENDED_ARG)):
        at = raw.find(bytes((_STORE_NAME, name)), at + 1)
    return at // 2 if at >= 0 else None


def _previous(raw: bytes, unit: int) -> tuple[int, int, int, int] | None:
    """The instruction before code unit ``unit``: opcode, argument, its unit and the
    unit its ``EXTENDED_ARG`` prefixes start at; None at the start of the code."""
    unit -= 1
    while unit >= 0 and raw[2 * unit] == _CACHE:
        unit -= 1
    if unit < 0:
        return None
    op, arg = raw[2 * unit], raw[2 * unit + 1]
    first, shift = unit, 8
    while first > 0 and raw[2 * first - 2] == _EXTENDED_ARG:
        first -= 1
        arg |= raw[2 * first + 1] << shift
        shift += 8
    return op, arg, unit, first


_CLASS = "\nclass Migration("


def _migration_class(text: str) -> tuple[ast.ClassDef, int] | None:
    """The ``Migration`` class, parsing only from its line when it can.

    The imports and RunPython functions above the class are most of a data
    migration; the class starts a top-level statement, so parsing from it on
    is valid Python. Anything unusual falls back to parsing the whole file.
    Returns the class and how many lines come before the parsed part.
    """
    start = text.find(_CLASS)
    if start >= 0:
        offset = text.count("\n", 0, start + 1)
        try:
            part = ast.parse(text[start + 1 :])
        except SyntaxError:
            part = None
        if part is not None and _is_migration_class(part.body[:1]):
            return part.body[0], offset  # type: ignore[return-value]
    tree = ast.parse(text)
    node = next((n for n in tree.body if _is_migration_class([n])), None)
    return (node, 0) if node is not None else None  # type: ignore[return-value]


def _is_migration_class(nodes: list[ast.stmt]) -> bool:
    return bool(nodes) and isinstance(nodes[0], ast.ClassDef) and nodes[0].name == "Migration"


def _collect_operations(body: list[ast.stmt], source: MigrationSource) -> None:
    """``operations = [...]`` (and ``+=``, ``.append``, ``.extend``) in the class body.

    Assignments inside ``if``/``try``/``with`` blocks count too (a migration that
    builds its operations per database vendor); each assignment starts a candidate.
    """
    current: list[Span] | None = None
    for stmt in body:
        if isinstance(stmt, ast.Assign | ast.AnnAssign) and _targets_operations(stmt):
            current = _spans(stmt.value)
            source.candidates.append(current)
            if len(source.candidates) == 1:
                source.anchor = stmt.lineno
        elif current is not None and (extra := _added_operations(stmt)) is not None:
            current.extend(extra)
        else:
            for block in _blocks(stmt):
                _collect_operations(block, source)


def _targets_operations(stmt: ast.Assign | ast.AnnAssign) -> bool:
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return any(isinstance(t, ast.Name) and t.id == "operations" for t in targets)


def _spans(value: ast.expr | None) -> list[Span]:
    """The operations of a list literal, or of list literals joined with ``+``.

    A part that is not a literal ends the list: what comes before it is still right.
    """
    spans: list[Span] = []
    _literal_spans(value, spans)
    return spans


def _literal_spans(value: ast.expr | None, out: list[Span]) -> bool:
    """Append the spans of ``value``; False when a part of it is not a literal."""
    if isinstance(value, ast.List | ast.Tuple):
        out.extend((e.lineno, e.end_lineno or e.lineno) for e in value.elts)
        return True
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
        return _literal_spans(value.left, out) and _literal_spans(value.right, out)
    return False


def _added_operations(stmt: ast.stmt) -> list[Span] | None:
    """``operations += [...]``, ``operations.extend([...])``, ``operations.append(op)``."""
    if (
        isinstance(stmt, ast.AugAssign)
        and isinstance(stmt.target, ast.Name)
        and stmt.target.id == "operations"
    ):
        return _spans(stmt.value)
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
        return None
    owner = call.func.value
    if not (isinstance(owner, ast.Name) and owner.id == "operations" and len(call.args) == 1):
        return None
    arg = call.args[0]
    if call.func.attr == "append":
        return [(arg.lineno, arg.end_lineno or arg.lineno)]
    return _spans(arg) if call.func.attr == "extend" else None


def _blocks(stmt: ast.stmt) -> list[list[ast.stmt]]:
    if isinstance(stmt, ast.If):
        return [stmt.body, stmt.orelse]
    if isinstance(stmt, ast.Try):
        return [stmt.body, *(h.body for h in stmt.handlers), stmt.orelse, stmt.finalbody]
    if isinstance(stmt, ast.With):
        return [stmt.body]
    return []


def _suppressions(text: str) -> list[Suppression]:
    found: list[Suppression] = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return found
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        match = _DIRECTIVE.search(tok.string)
        if match:
            codes = frozenset(c.strip() for c in match["codes"].split(",") if c.strip())
            reason = match["reason"].strip(" -:")
            found.append(Suppression(tok.start[0], codes, reason, match["kind"] == "ignore-file"))
    return found
