"""The top-level definitions of a module that some names need, as source text to copy.

A migration's operations name functions, classes and constants defined in the
migration module itself (``RunPython(forwards)``, ``default=make_code``, a
custom ``Operation`` subclass). Such a module cannot be imported by name
(``shop.migrations.0002_change``: a segment starting with a digit) and is the very
file ``schemaops fix`` replaces, so the files written in its place carry copies
of what they use. :func:`needed_source` reads the module's source with ``ast``
and returns the top-level statements binding the names asked for, with what
those need in turn (helpers, constants, imports), in the module's own order.
Django's ``squashmigrations`` asks the user to copy these by hand.
"""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

SKIP = frozenset({"Migration"})  # the migration class itself is never copied


def module_tree(module: ModuleType) -> tuple[str, ast.Module] | None:
    """The module's source and its ``ast``; None when the source cannot be read."""
    try:
        source = inspect.getsource(module)
        return source, ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None


def needed_source(
    module: ModuleType,
    names: set[str],
    bound: frozenset[str],
    parsed: tuple[str, ast.Module] | None = None,
) -> list[str] | None:
    """Source chunks of the top-level statements of ``module`` that ``names`` need.

    ``bound`` are names the destination file binds already (its imports): an
    import statement of the module is copied only for the names it lacks, trimmed
    to them. None when the source cannot be read or a name is not bound at the
    module's top level (it came from elsewhere, e.g. a star import). ``parsed``:
    the module's :func:`module_tree`, when the caller read it already.
    """
    parsed = parsed or module_tree(module)
    if parsed is None:
        return None
    source, tree = parsed
    binders: dict[str, list[int]] = {}
    for index, node in enumerate(tree.body):
        for name in _binds(node):
            binders.setdefault(name, []).append(index)
    wanted: dict[int, set[str]] = {}  # statement -> names needed from it
    todo = [n for n in names if n not in bound]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name not in binders:
            if name in names:  # asked for, and nowhere to copy it from
                return None
            continue  # a builtin, a local or attribute name of the code read
        for index in binders[name]:
            node = tree.body[index]
            if name in SKIP and isinstance(node, ast.ClassDef):
                continue
            first = index not in wanted
            wanted.setdefault(index, set()).add(name)
            if first and not isinstance(node, ast.Import | ast.ImportFrom):
                todo.extend(n for n in _reads(node) if n not in bound)
    lines = source.splitlines()
    shared = _shared_lines(tree)
    chunks = []
    for index in sorted(wanted):
        node = tree.body[index]
        if isinstance(node, ast.Import | ast.ImportFrom):
            chunks.append(ast.unparse(_trimmed(node, wanted[index])))
        elif _span(node) & shared:  # statements sharing a line (``a = 1; b = 2``)
            chunks.append(ast.unparse(node))
        else:
            start, end = min(_span(node)), max(_span(node))
            chunks.append("\n".join(lines[start - 1 : end]))
    return chunks


def _binds(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds; an ``if``/``try``/``with`` block at the top
    (``try: from x import y except ImportError: def y(): ...``) is copied whole."""
    if isinstance(node, ast.If | ast.Try | ast.With):
        inner = [*node.body, *getattr(node, "orelse", []), *getattr(node, "finalbody", [])]
        inner += [s for h in getattr(node, "handlers", []) for s in h.body]
        return {name for s in inner for name in _binds(s)}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.ImportFrom):
        if node.module == "__future__":
            return set()
        return {a.asname or a.name for a in node.names if a.name != "*"}
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {
            n.id
            for t in targets
            for n in ast.walk(t)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
    return set()


def _reads(node: ast.stmt) -> set[str]:
    """Every name the statement loads (locals too: only module-level ones are looked up)."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _trimmed(node: ast.Import | ast.ImportFrom, names: set[str]) -> ast.stmt:
    if isinstance(node, ast.Import):
        keep = [a for a in node.names if (a.asname or a.name).split(".")[0] in names]
        return ast.Import(names=keep)
    keep = [a for a in node.names if (a.asname or a.name) in names]
    return ast.ImportFrom(module=node.module, names=keep, level=node.level)


def _span(node: ast.stmt) -> set[int]:
    decorators = getattr(node, "decorator_list", [])
    start = min([node.lineno, *(d.lineno for d in decorators)])
    return set(range(start, (node.end_lineno or node.lineno) + 1))


def _shared_lines(tree: ast.Module) -> set[int]:
    counts: dict[int, int] = {}
    for node in tree.body:
        for line in {node.lineno, node.end_lineno or node.lineno}:
            counts[line] = counts.get(line, 0) + 1
    return {line for line, n in counts.items() if n > 1}
