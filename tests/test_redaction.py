"""No part of a credential in any output: URLs, libpq keywords, messages quoting a DSN."""

from __future__ import annotations

import pytest
from support import run_cli
from tinyproj import migration_source, write_project

from schemaops.redaction import redact, remember_secret

SECRET_PARTS = ("p@ss", "w0rd", "TAILX", "se cret", "cretX")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p@ssw0rd@h/db failed", "postgresql://u:***@h/db failed"),
        ("redis://:s3cret@localhost:6379/0", "redis://:***@localhost:6379/0"),
        ("host=h password='a b' port=1", "host=h password=*** port=1"),
    ],
)
def test_redact_hides_passwords_whole(text, expected):
    assert redact(text) == expected


def test_remembered_secrets_are_masked_in_any_message_and_in_pieces():
    remember_secret("hunter2@TAILZZ")
    assert redact('could not translate host name "TAILZZ@db" to address') == (
        'could not translate host name "***@db" to address'
    )


@pytest.mark.parametrize(
    "dsn",
    [
        "postgresql://u:p@ssw0rdTAILX@127.0.0.1:1/db",
        "postgresql://u:p@ssw0rd/TAILX@127.0.0.1:1/db",
        "postgresql://u:p?ssw0rdTAILX@127.0.0.1:1/db",
        "host=127.0.0.1 port=1 password=se cretX",
        "postgresql://u:pw%TAILX@127.0.0.1:1/db",
    ],
)
@pytest.mark.parametrize("command", ["audit", "tune"])
def test_a_bad_dsn_never_prints_any_part_of_the_password(tmp_path, dsn, command):
    proc = run_cli(command, "--dsn", dsn, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    for part in SECRET_PARTS:
        assert part not in proc.stderr + proc.stdout, (part, proc.stderr)


def test_a_django_password_is_masked_in_connection_errors(tmp_path):
    root = write_project(
        tmp_path,
        {"0001_initial": migration_source()},
        password="pa@ss/wordTAILX",
        port="1",
    )
    proc = run_cli("check", "--database", "default", cwd=root, timeout=60)
    assert proc.returncode == 2
    assert "TAILX" not in proc.stderr + proc.stdout and "wordT" not in proc.stderr
