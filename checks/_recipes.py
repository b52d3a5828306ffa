"""Building blocks for recipes: identifiers and Django code snippets."""

from __future__ import annotations

from typing import Any

from pglast.stream import maybe_double_quote_name


def ident(name: str) -> str:
    """An SQL identifier as PostgreSQL would need it written (pglast's quoting rules)."""
    return str(maybe_double_quote_name(name))


def django_kind(op: Any) -> str:
    """``AddField`` for a project's own ``class AddFieldKeepingUniqueness(AddField)``."""
    for cls in type(op).__mro__:
        if cls.__module__.startswith("django.db.migrations"):
            return cls.__name__
    return type(op).__name__


def field_code(field: Any) -> str:
    """``models.CharField(max_length=20, null=True)`` from a field instance."""
    _, path, args, kwargs = field.deconstruct()
    cls = path.rsplit(".", 1)[-1]
    prefix = "models." if path.startswith("django.db.models") else path.rsplit(".", 1)[0] + "."
    parts = [repr(a) for a in args]
    for key, value in kwargs.items():
        parts.append(f"{key}={_value_code(value)}")
    return f"{prefix}{cls}({', '.join(parts)})"


def _value_code(value: Any) -> str:
    """Python code for a field argument; the names it uses are imported by the recipe."""
    if isinstance(value, list | tuple):
        items = [_value_code(v) for v in value]
        if isinstance(value, tuple):
            return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
        return f"[{', '.join(items)}]"
    if isinstance(value, dict):
        pairs = [f"{_value_code(k)}: {_value_code(v)}" for k, v in value.items()]
        return "{" + ", ".join(pairs) + "}"
    if callable(value) and hasattr(value, "__qualname__"):
        module = getattr(value, "__module__", "")
        return f"{module}.{value.__qualname__}" if module else value.__qualname__
    if hasattr(value, "deconstruct") and not isinstance(value, type):
        try:
            path, args, kwargs = value.deconstruct()[-3:]
        except Exception:
            return repr(value)
        from schemaops.checks._imports import importable_by_name

        cls = str(path).rsplit(".", 1)[-1]
        name = cls if importable_by_name(cls) else str(path)
        inner = [_value_code(a) for a in args]
        inner += [f"{k}={_value_code(v)}" for k, v in kwargs.items()]
        return f"{name}({', '.join(inner)})"
    if str(type(value).__name__) == "SettingsReference":
        return f"settings.{value.setting_name}"
    return repr(value)


def with_kwargs(field: Any, **changes: Any) -> str:
    """Field code with some keyword arguments changed (None removes one)."""
    clone = field.clone()
    _, _path, args, kwargs = clone.deconstruct()
    for key, value in changes.items():
        if value is None:
            kwargs.pop(key, None)
        else:
            kwargs[key] = value
    rebuilt = type(clone)(*args, **kwargs)
    return field_code(rebuilt)
