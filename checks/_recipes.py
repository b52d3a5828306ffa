"""Building blocks for recipes: identifiers and Django code snippets."""

from __future__ import annotations

from typing import Any

from pglast.stream import maybe_double_quote_name


def ident(name: str) -> str:
    """An SQL identifier as PostgreSQL would need it written (pglast's quoting rules)."""
    return str(maybe_double_quote_name(name))


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
    if callable(value) and hasattr(value, "__qualname__"):
        module = getattr(value, "__module__", "")
        return f"{module}.{value.__qualname__}" if module else value.__qualname__
    if hasattr(value, "deconstruct") and not isinstance(value, type):
        try:
            path, args, kwargs = value.deconstruct()[-3:]
            inner = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
            return f"{path.rsplit('.', 1)[-1]}({', '.join(inner)})"
        except Exception:
            return repr(value)
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
