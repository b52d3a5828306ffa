"""Remedies as code: complete migration modules and the field code inside them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from schemaops.rules import MigrationContext, OperationContext


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
        from schemaops.remedy.imports import importable_by_name

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


def migration_code(
    ctx: MigrationContext | OperationContext,
    operations: Iterable[str],
    *,
    atomic: bool = True,
    name: str = "safe",
    phase: str | None = None,
    imports: str = "from django.db import migrations, models",
    after: str | None = None,
    dependencies: list[tuple[str, str]] | None = None,
) -> str:
    """A complete migration module, ready to paste.

    It replaces the migration under check, so it has the same dependencies,
    or, with ``after``, follows the recipe's previous migration ``XXXX_<after>``,
    or, with ``dependencies``, depends on exactly those.
    """
    from schemaops.rules import OperationContext

    mig = ctx.migration if isinstance(ctx, OperationContext) else ctx
    deps = [(mig.app_label, f"XXXX_{after}")] if after else mig.dependencies
    if dependencies is not None:
        deps = dependencies
    lines = [
        f"# {mig.app_label}/migrations/XXXX_{name}.py",
        imports,
        "",
        "",
        "class Migration(migrations.Migration):",
    ]
    if not atomic:
        lines.append("    atomic = False  # CONCURRENTLY cannot run inside a transaction")
    if phase == "post":
        lines.append('    deploy_phase = "post"  # contract: apply after the new code is live')
    lines.append("    dependencies = [" + ", ".join(f'("{a}", "{n}")' for a, n in deps) + "]")
    lines.append("    operations = [")
    operations = list(operations)
    for op in operations:
        lines.extend("        " + line for line in op.splitlines())
    lines.append("    ]")
    return _with_missing_imports(lines, operations, type(mig.step.migration).__module__)


def _with_missing_imports(lines: list[str], operations: list[str], migration_module: str) -> str:
    """Add the imports the operations' code needs and the import block lacks."""
    from schemaops.remedy.imports import missing_imports

    have = lines[1].splitlines()
    extra = [i for i in missing_imports(lines[1], operations, migration_module) if i not in have]
    if extra:
        lines[1] = "\n".join([*have, *extra])
    return "\n".join(lines)


def join_steps(*steps: str) -> str:
    return "\n\n".join(s.rstrip() for s in steps if s)
