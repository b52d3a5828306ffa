"""A model's ``db_table`` as PostgreSQL reads it.

Django writes ``db_table`` into its SQL through ``quote_name``: a name already
wrapped in double quotes is taken as written, anything else is wrapped once.
So ``'"billing"."invoice"'`` (and the ``'billing"."invoice'`` trick, which the
wrapping completes) name the table ``invoice`` in schema ``billing``, while
``'billing.invoice'`` names a table called ``billing.invoice`` on the
search_path. Code that looks a model's table up in the catalog goes through
here, so every command reads such names the way Django's own SQL does.
"""

from __future__ import annotations


def django_quoted(db_table: str) -> str:
    """``db_table`` as Django's ``quote_name`` writes it into SQL (``to_regclass`` reads it)."""
    if db_table.startswith('"') and db_table.endswith('"'):
        return db_table
    return f'"{db_table}"'


def schema_qualified(db_table: str) -> bool:
    """Whether Django's SQL for ``db_table`` names a table in an explicit schema."""
    return '"."' in django_quoted(db_table)


def parts(db_table: str) -> tuple[str | None, str]:
    """(schema or None, table name) of ``db_table`` as Django's SQL names it."""
    inner = django_quoted(db_table)[1:-1]
    if '"."' in inner:
        schema, name = inner.split('"."', 1)
        return schema, name
    return None, inner


def label(db_table: str) -> str:
    """How reports name the table: ``name``, or ``schema.name`` outside public
    (the label :mod:`schemaops.trace` gives the relations it sees locked)."""
    schema, name = parts(db_table)
    return name if schema in (None, "public") else f"{schema}.{name}"
