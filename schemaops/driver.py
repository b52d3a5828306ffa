"""The PostgreSQL driver schemaops talks through: psycopg2 or psycopg 3, whichever is installed.

schemaops' own connections (audit, tune, trace, migrate's guard) and its
offline quoting go through this module only, so a project on psycopg 3
never needs psycopg2 and the other way round. When both are installed,
psycopg2 is used (the behaviour every earlier release had). psycopg 3
connections use client-side binding (``ClientCursor``), so queries written
with ``%s`` and ``%(name)s`` behave as they do with psycopg2.

Exposed: :data:`sql` (the driver's ``sql`` module: ``Identifier``,
``Literal``, ``SQL``), :data:`Error`, :data:`errors` (SQLSTATE exception
classes such as ``QueryCanceled``), :data:`NotSupportedError`,
:func:`connect`, :func:`parse_dsn`, :func:`quote_literal`,
:func:`server_version`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from schemaops.errors import ConfigError


def _load() -> tuple[str, ModuleType]:
    try:
        import psycopg2
        import psycopg2.errors
        import psycopg2.extensions
        import psycopg2.sql

        return "psycopg2", psycopg2
    except ImportError:
        pass
    try:
        import psycopg
        import psycopg.conninfo
        import psycopg.errors
        import psycopg.sql

        return "psycopg", psycopg
    except ImportError:
        raise ConfigError(
            "no PostgreSQL driver: pip install 'schemaops[psycopg]' (psycopg 3) "
            "or 'schemaops[psycopg2]'"
        ) from None


NAME, _module = _load()
sql: Any = _module.sql
errors: Any = _module.errors
Error: type[Exception] = _module.Error
NotSupportedError: type[Exception] = _module.NotSupportedError
ProgrammingError: type[Exception] = _module.ProgrammingError


def connect(**params: Any) -> Any:
    """A connection from libpq keyword parameters; raises :data:`Error` on failure."""
    if NAME == "psycopg2":
        return _module.connect(**params)
    return _module.connect(cursor_factory=_module.ClientCursor, **params)


def parse_dsn(dsn: str) -> dict[str, Any]:
    """libpq's reading of a DSN (URL or key=value); raises :data:`ProgrammingError`."""
    if NAME == "psycopg2":
        return dict(_module.extensions.parse_dsn(dsn))
    return dict(_module.conninfo.conninfo_to_dict(dsn))


def quote_literal(value: Any) -> str:
    """``value`` as an SQL literal, quoted the way the driver quotes parameters."""
    if NAME == "psycopg2":
        adapted = _module.extensions.adapt(value)
        if hasattr(adapted, "encoding"):
            adapted.encoding = "utf8"
        return str(adapted.getquoted().decode("utf-8"))
    return str(sql.Literal(value).as_string(None)).strip()


def server_version(conn: Any) -> int:
    """The server's version number, e.g. 150019."""
    if NAME == "psycopg2":
        return int(conn.server_version)
    return int(conn.info.server_version)


def error_message(exc: BaseException) -> str:
    """The server's primary message of a driver error, else its first line."""
    primary = getattr(getattr(exc, "diag", None), "message_primary", None)
    return primary or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
