"""Index facts shared by the index rules: what creates one, names, covering."""

from __future__ import annotations

from typing import Any

from schemaops.remedy.code import _value_code


def has_plain_index(field: Any) -> bool:
    """Does Django give this field a non-unique index of its own?"""
    if field is None or getattr(field, "primary_key", False) or getattr(field, "unique", False):
        return False
    if getattr(field, "many_to_many", False):
        return False
    return bool(getattr(field, "db_index", False))


def creates_plain_index(after: Any, before: Any | None) -> bool:
    """True when going from ``before`` (None: new column) to ``after`` builds an index."""
    return has_plain_index(after) and not has_plain_index(before)


def index_name(table: str, column: str, suffix: str = "") -> str:
    """The name Django's schema editor gives a single-column index (no database needed)."""
    from schemaops.plan import offline_connection

    editor = offline_connection(150000).schema_editor(collect_sql=True, atomic=False)
    return str(editor._create_index_name(table, [column], suffix=suffix))


def index_code(index: Any) -> str:
    path, args, kwargs = index.deconstruct()
    cls = path.rsplit(".", 1)[-1]
    prefix = "models." if path.startswith("django.db.models") else ""
    parts = [_value_code(a) for a in args] + [f"{k}={_value_code(v)}" for k, v in kwargs.items()]
    return f"{prefix}{cls}({', '.join(parts)})"
