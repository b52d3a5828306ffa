"""Connections to PostgreSQL outside Django's ORM, and keeping secrets out of output.

Three ways to point at a server, the same for ``audit``, ``tune`` and ``trace``:
a Django database alias (``--settings`` + ``--database``), a URL
(``--dsn postgresql://...``), or libpq's ``PG*`` environment variables
(nothing given). Every message that may contain a DSN goes through
:func:`redact` first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from schemaops import driver
from schemaops.driver import sql
from schemaops.errors import ConfigError, DatabaseUnavailable
from schemaops.redaction import check_url_dsn, redact, remember_secret

__all__ = ["connect", "connection_params", "django_params", "quote_ident", "redact", "sql"]


def quote_ident(name: str, conn: Any) -> str:
    return sql.Identifier(name).as_string(conn)


def django_params(alias: str = "default") -> dict[str, Any]:
    """libpq keyword parameters for a Django database alias."""
    from django.conf import settings

    try:
        db = settings.DATABASES[alias]
    except KeyError:
        raise ConfigError(f"unknown database alias {alias!r} in DATABASES") from None
    if "postgresql" not in db.get("ENGINE", ""):
        raise ConfigError(
            f"database {alias!r} uses {db.get('ENGINE')!r}; schemaops needs PostgreSQL"
        )
    remember_secret(db.get("PASSWORD"))
    params: dict[str, Any] = {
        "dbname": db.get("NAME") or None,
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": str(db["PORT"]) if db.get("PORT") else None,
    }
    for key, value in (db.get("OPTIONS") or {}).items():
        if key in {
            "sslmode",
            "sslrootcert",
            "sslcert",
            "sslkey",
            "connect_timeout",
            "application_name",
            "options",
            "service",
            "passfile",
        }:
            params[key] = value
    return {k: v for k, v in params.items() if v is not None}


def connection_params(
    dsn: str | None = None, alias: str | None = None, use_django: bool = False
) -> dict[str, Any]:
    """Pick the target: an explicit DSN, then a Django alias, then PG* variables."""
    if dsn:
        check_url_dsn(dsn)
        try:
            params = driver.parse_dsn(dsn)
        except driver.ProgrammingError:
            # libpq's message quotes the part it could not read: it may be a password
            raise ConfigError(
                "invalid --dsn: libpq cannot read it (use a postgresql:// URL with special "
                "characters percent-encoded, or key=value pairs with values that hold "
                "spaces in single quotes)"
            ) from None
        remember_secret(params.get("password"))
        return params
    if use_django:
        return django_params(alias or "default")
    return {}  # libpq reads PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD


def describe(params: dict[str, Any]) -> str:
    """A safe one-line description of a target: user@host:port/dbname."""
    host = params.get("host", "local socket")
    port = params.get("port", "5432")
    return f"{params.get('user', '')}@{host}:{port}/{params.get('dbname', '')}".lstrip("@")


def connect(
    params: dict[str, Any],
    *,
    readonly: bool = False,
    autocommit: bool = True,
    application_name: str = "schemaops",
    **extra: Any,
) -> Any:
    """Open a connection (psycopg2 or psycopg 3) or raise DatabaseUnavailable, never a traceback.

    ``readonly``: every transaction is read-only (``default_transaction_read_only``).
    """
    merged = {"connect_timeout": 10, "application_name": application_name, **params, **extra}
    try:
        conn = driver.connect(**merged)
    except driver.Error as exc:
        first = (str(exc).strip().splitlines() or ["connection failed"])[0]
        raise DatabaseUnavailable(
            f"cannot connect to PostgreSQL at {describe(params)}: {redact(first)}"
        ) from None
    conn.autocommit = autocommit
    if readonly:
        with conn.cursor() as cur:
            cur.execute("SET default_transaction_read_only = on")
        if not autocommit:
            conn.commit()
    return conn


@contextmanager
def connected(params: dict[str, Any], **kwargs: Any) -> Iterator[Any]:
    conn = connect(params, **kwargs)
    try:
        yield conn
    finally:
        conn.close()


def server_version_num(conn: Any) -> int:
    """The server's version as an int, e.g. 150019."""
    return driver.server_version(conn)
