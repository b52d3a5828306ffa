"""A throwaway PostgreSQL cluster for tests that change settings.

``initdb`` into a temporary folder as the ``postgres`` OS user (initdb
refuses root), started with ``pg_ctl`` on a free port with its own socket
folder, stopped and removed at the end. The shared server's configuration
is never touched.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest


def _bindir() -> Path:
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    base: Path
    port: int

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def pg_ctl(self) -> list[str]:
        return _as_postgres([str(_bindir() / "pg_ctl"), "-D", str(self.data), "-w"])

    def params(self, user: str = "postgres") -> dict[str, str]:
        return {"host": "127.0.0.1", "port": str(self.port), "user": user, "dbname": "postgres"}

    def dsn(self, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/postgres"

    @property
    def restart_command(self) -> str:
        return shlex.join([*self.pg_ctl, "-l", str(self.base / "log"), "restart"])

    def connect(self) -> psycopg2.extensions.connection:
        params: dict[str, Any] = dict(self.params())
        conn = psycopg2.connect(**params)
        conn.autocommit = True
        return conn

    def sql(self, query: str, *args: object) -> list[tuple[object, ...]]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(query, args or None)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def auto_conf(self) -> str:
        return (self.data / "postgresql.auto.conf").read_text()

    def reset_all(self) -> None:
        """Back to an empty postgresql.auto.conf between tests."""
        self.sql("ALTER SYSTEM RESET ALL")
        self.sql("SELECT pg_reload_conf()")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix="schemaops-tune-"))
    postgres = pwd.getpwnam("postgres")
    os.chown(base, postgres.pw_uid, postgres.pw_gid)
    made = Cluster(base, _free_port())
    initdb = [str(_bindir() / "initdb"), "-D", str(made.data), "-U", "postgres", "-A", "trust"]
    subprocess.run(_as_postgres([*initdb, "--no-sync"]), check=True, capture_output=True)
    options = f"-p {made.port} -k {base} -c listen_addresses=127.0.0.1"
    start = [*made.pg_ctl, "-l", str(base / "log"), "-o", options, "start"]
    subprocess.run(start, check=True, capture_output=True)
    try:
        yield made
    finally:
        subprocess.run([*made.pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def clean_cluster(cluster: Cluster) -> Iterator[Cluster]:
    cluster.reset_all()
    yield cluster
    cluster.reset_all()
