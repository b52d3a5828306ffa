"""What a Python function does, read from its code objects (never from its source text).

Used for ``RunPython`` functions: by the rules (what it calls, whether it
loops) and by the remedy planner (which model it fetches, so its work can
become a ``schemaops backfill`` on that model's table).
"""

from __future__ import annotations

import dis
import functools
import itertools
import types
from collections.abc import Iterator
from typing import Any


def unwrap(func: Any) -> Any:
    while isinstance(func, functools.partial):
        func = func.func
    return func


def code_objects(func: Any) -> Iterator[types.CodeType]:
    """The function's code object and every code object nested in it."""
    code = getattr(unwrap(func), "__code__", None)
    todo = [code] if isinstance(code, types.CodeType) else []
    while todo:
        code = todo.pop()
        yield code
        todo.extend(c for c in code.co_consts if isinstance(c, types.CodeType))


def global_names(func: Any) -> set[str]:
    return {name for code in code_objects(func) for name in code.co_names}


def string_constants(func: Any) -> list[str]:
    """String constants and keyword-argument names, in order of appearance."""
    out: list[str] = []
    for code in code_objects(func):
        for const in code.co_consts:
            if isinstance(const, str):
                out.append(const)
            elif isinstance(const, tuple):
                out.extend(c for c in const if isinstance(c, str))
    return out


@functools.lru_cache(maxsize=1024)
def _instructions(code: types.CodeType) -> tuple[dis.Instruction, ...]:
    """``dis.get_instructions(code)``, decoded once per code object.

    The rules and the remedy planner each read the same RunPython function
    several times in a run (calls, loops, models, SQL); decoding bytecode is
    the costly part. Equal code objects decode to equal instructions.
    """
    return tuple(dis.get_instructions(code))


def has_loop(func: Any) -> bool:
    """Does the function iterate (a for loop or a comprehension)?"""
    return any(
        ins.opname == "FOR_ITER" for code in code_objects(func) for ins in _instructions(code)
    )


def models_touched(func: Any, state: Any) -> list[tuple[str, str]]:
    """(app_label, ModelName) the function fetches, in order: ``get_model("app", "Model")``
    (two string constants in a row) or ``get_model("app.Model")``, as the state names them.

    Unlike :func:`models_used` this never pairs an app label with a model name that
    merely appear somewhere in the function.
    """
    consts = [  # in the order the code loads them (co_consts keeps each string once)
        ins.argval
        for code in code_objects(func)
        for ins in _instructions(code)
        if ins.opname in ("LOAD_CONST", "RETURN_CONST") and isinstance(ins.argval, str)
    ]
    names = {(app, model.name.lower()): model.name for (app, _), model in state.models.items()}
    found: list[tuple[str, str]] = []
    candidates = list(itertools.pairwise(consts))
    candidates += [(c.split(".")[0], c.split(".")[1]) for c in consts if c.count(".") == 1]
    for app, model in candidates:
        name = names.get((app, model.lower()))
        if name is not None and (app, name) not in found:
            found.append((app, name))
    return found


_CALLS = ("CALL", "CALL_FUNCTION", "CALL_METHOD", "CALL_KW", "CALL_FUNCTION_KW")
_SKIP = ("PRECALL", "CACHE", "PUSH_NULL", "EXTENDED_ARG", "NOP")


def executed_sql(func: Any) -> tuple[list[str], int]:
    """The SQL a ``RunPython`` function passes to ``schema_editor.execute()`` as a literal.

    Returns the literal strings, in order, and how many ``execute`` calls pass something
    else (a built string, a variable: SO904 says they were not analysed). Only calls on
    the function's own ``schema_editor`` parameter (its second argument, by position,
    whatever it is named) count: ``cursor.execute(...)`` on a cursor stays unread. Read
    from the bytecode, so it works without the source and on every supported Python.
    """
    top = getattr(unwrap(func), "__code__", None)
    texts: list[str] = []
    dynamic = 0
    for code in code_objects(func):
        editor = code.co_varnames[1] if code is top and code.co_argcount >= 2 else None
        ins = [i for i in _instructions(code) if i.opname not in _SKIP]
        elsewhere = not_on_postgresql(ins)
        for n, i in enumerate(ins):
            if i.opname not in ("LOAD_METHOD", "LOAD_ATTR") or i.argval != "execute":
                continue
            if any(start <= i.offset < end for start, end in elsewhere):
                continue  # under a check of the database vendor that PostgreSQL fails
            text = _literal_call(ins, n, editor)
            if text is None:
                dynamic += 1
            else:
                texts.append(text)
    return texts, dynamic


_VENDOR_TESTS = ("COMPARE_OP", "CONTAINS_OP")


def not_on_postgresql(ins: list[dis.Instruction]) -> list[tuple[int, int]]:
    """Offset ranges of the code that a check of the database vendor keeps from running on
    PostgreSQL: the body of ``if <x>.vendor == "sqlite":`` (also ``!=``, ``in``, ``not in``
    a tuple of names), or its ``else`` when the check is true on PostgreSQL. Read from the
    bytecode: a comparison of an attribute ``vendor`` with constants, then a forward
    conditional jump; anything else is not understood, and no range comes of it."""
    out: list[tuple[int, int]] = []
    for n, i in enumerate(ins):
        truth = _vendor_test(ins, n) if i.opname in _VENDOR_TESTS else None
        jump = next((j for j in ins[n + 1 : n + 3] if j.opname != "TO_BOOL"), None)
        if truth is None or jump is None or "JUMP" not in jump.opname:
            continue
        if "IF_FALSE" not in jump.opname and "IF_TRUE" not in jump.opname:
            continue
        target = jump.argval
        if not isinstance(target, int) or target <= jump.offset:
            continue  # a loop's test: not an if
        taken = truth is ("IF_TRUE" in jump.opname)  # on PostgreSQL the jump is taken
        after = ins.index(jump) + 1
        if after >= len(ins):
            continue
        if taken:  # the body the jump skips never runs
            out.append((ins[after].offset, target))
            continue
        # the body runs; an else after it (the body ends jumping past it) does not
        last = next((j for j in reversed(ins) if j.offset < target), None)
        ends = last.argval if last is not None and last.opname == "JUMP_FORWARD" else None
        if isinstance(ends, int) and ends > target:
            out.append((target, ends))
    return out


def _vendor_test(ins: list[dis.Instruction], n: int) -> bool | None:
    """Is the comparison at ``ins[n]`` of ``<x>.vendor`` with constants true on PostgreSQL?
    None: not such a comparison."""
    if n < 2:
        return None
    a, b = ins[n - 2], ins[n - 1]
    const = b if b.opname == "LOAD_CONST" else a if a.opname == "LOAD_CONST" else None
    attr = a if const is b else b
    if const is None or attr.opname != "LOAD_ATTR" or attr.argval != "vendor":
        return None
    value, test = const.argval, ins[n]
    if test.opname == "CONTAINS_OP":
        if not isinstance(value, tuple | frozenset) or const is not b:
            return None
        return ("postgresql" in value) != bool(test.arg)  # arg 1: ``not in``
    if not isinstance(value, str):
        return None
    op = test.argrepr.removeprefix("bool(").removesuffix(")")
    if op not in ("==", "!="):
        return None
    return (value == "postgresql") == (op == "==")


def _literal_call(ins: list[dis.Instruction], n: int, editor: str | None) -> str | None:
    """``editor.execute("...")`` (params None or absent) at ``ins[n]``: its SQL, else None."""
    if editor is None or n == 0 or not ins[n - 1].opname.startswith("LOAD_FAST"):
        return None  # LOAD_FAST, and 3.12+'s LOAD_FAST_CHECK / LOAD_FAST_BORROW
    loaded = ins[n - 1].argval
    if (loaded[-1] if isinstance(loaded, tuple) else loaded) != editor:
        return None
    args = list(itertools.takewhile(lambda x: x.opname not in _CALLS, ins[n + 1 :]))
    if n + 1 + len(args) >= len(ins) or not args:
        return None
    first, rest = args[0], args[1:]
    if first.opname != "LOAD_CONST" or not isinstance(first.argval, str):
        return None
    if any(a.opname != "LOAD_CONST" or a.argval is not None for a in rest):
        return None
    return str(first.argval)
