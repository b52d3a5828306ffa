"""Keeping credentials out of everything schemaops prints or logs.

Two nets, both applied by :func:`redact`:

* patterns: the password of any ``scheme://user:password@host`` URL (up to the
  last ``@`` of the URL, so a password with an unencoded ``@`` is hidden whole)
  and libpq's ``password=...`` keyword;
* known secrets: every password schemaops has seen (a DSN's, a Django
  database's, ``PGPASSWORD``) is remembered and replaced wherever it appears,
  also inside a libpq message that quotes part of a connection string.

:func:`check_url_dsn` refuses a URL whose password has unencoded ``@ / ? #``:
libpq would read part of the password as the host name and echo it back.
"""

from __future__ import annotations

import os
import re

from schemaops.errors import ConfigError

MASK = "***"
_MIN_SECRET = 3  # shorter fragments would mask ordinary words
_secrets: set[str] = set()

_PATTERNS = (
    # scheme://user:secret@host -> scheme://user:***@host; greedy to the token's last @
    (re.compile(r"([a-zA-Z][\w+.-]*://[^:/@\s]*:)(\S*)(@)"), r"\1" + MASK + r"\3"),
    # password=secret (libpq keyword form)
    (re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE), r"\1" + MASK),
)


def remember_secret(value: object) -> None:
    """Mask ``value`` (and its ``@/:?#``-separated pieces) in all later output."""
    if not value:
        return
    text = str(value)
    for piece in (text, *re.split(r"[@/:?#\s]", text)):
        if len(piece) >= _MIN_SECRET:
            _secrets.add(piece)


def redact(text: str) -> str:
    """``text`` without any password: URL and keyword forms, and every remembered secret."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def check_url_dsn(dsn: str, what: str = "--dsn") -> None:
    """Refuse a URL DSN whose user or password holds an unencoded ``@``, ``/``, ``?`` or ``#``.

    The message never quotes the DSN: a misread URL puts part of the password
    where the host should be.
    """
    _scheme, sep, rest = dsn.partition("://")
    if not sep or "@" not in rest:
        return
    userinfo = rest[: rest.rindex("@")]
    _user, _, password = userinfo.partition(":")
    remember_secret(password)
    if any(c in userinfo for c in "@/?#"):
        raise ConfigError(
            f"{what}: the user name or password holds an unencoded '@', '/', '?' or '#'; "
            "percent-encode it (for example '@' as %40)"
        )


remember_secret(os.environ.get("PGPASSWORD"))
