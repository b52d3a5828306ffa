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


def has_loop(func: Any) -> bool:
    """Does the function iterate (a for loop or a comprehension)?"""
    return any(
        ins.opname == "FOR_ITER"
        for code in code_objects(func)
        for ins in dis.get_instructions(code)
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
        for ins in dis.get_instructions(code)
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
