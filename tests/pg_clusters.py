"""Throwaway PostgreSQL clusters for tests (imported as pg_clusters).

``initdb`` into a temporary folder as the ``postgres`` OS user (initdb refuses
root), started with ``pg_ctl`` on a free port with its own socket folder,
stopped and removed at the end, also when the test fails. :func:`standby_of`
adds a streaming standby made with ``pg_basebackup -R``. The shared server's
configuration is never touched.
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
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2


def bindir() -> Path:
    out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


def free_port() -> int:
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
    def log(self) -> Path:
        return self.base / "log"

    @property
    def pg_ctl(self) -> list[str]:
        return as_postgres([str(bindir() / "pg_ctl"), "-D", str(self.data), "-w"])

    def params(self, user: str = "postgres", dbname: str = "postgres") -> dict[str, str]:
        return {"host": "127.0.0.1", "port": str(self.port), "user": user, "dbname": dbname}

    def dsn(self, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/postgres"

    @property
    def restart_command(self) -> str:
        return shlex.join([*self.pg_ctl, "-l", str(self.log), "restart"])

    def start(self, settings: dict[str, str] | None = None) -> None:
        """``pg_ctl start`` on this port, with ``-c name=value`` for each setting."""
        options = [f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"]
        options += [f"-c {name}={value}" for name, value in (settings or {}).items()]
        start = [*self.pg_ctl, "-l", str(self.log), "-o", " ".join(options), "start"]
        subprocess.run(start, check=True, capture_output=True)

    def remove(self) -> None:
        subprocess.run([*self.pg_ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)

    def connect(self, dbname: str = "postgres") -> psycopg2.extensions.connection:
        params: dict[str, Any] = dict(self.params(dbname=dbname))
        conn = psycopg2.connect(**params)
        conn.autocommit = True
        return conn

    def sql(self, query: str, *args: object, dbname: str = "postgres") -> list[tuple[object, ...]]:
        conn = self.connect(dbname)
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


def _postgres_owned_tmpdir(prefix: str) -> Path:
    base = Path(tempfile.mkdtemp(prefix=prefix))
    postgres = pwd.getpwnam("postgres")
    os.chown(base, postgres.pw_uid, postgres.pw_gid)
    return base


@contextmanager
def throwaway_cluster(
    prefix: str = "schemaops-pg-", settings: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """A fresh primary (trust auth, replication allowed from 127.0.0.1), removed at the end."""
    made = Cluster(_postgres_owned_tmpdir(prefix), free_port())
    try:
        initdb = [str(bindir() / "initdb"), "-D", str(made.data), "-U", "postgres", "-A", "trust"]
        subprocess.run(as_postgres([*initdb, "--no-sync"]), check=True, capture_output=True)
        made.start(settings)
        yield made
    finally:
        made.remove()


@contextmanager
def standby_of(
    primary: Cluster, prefix: str = "schemaops-standby-", settings: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """A streaming standby of ``primary`` (``pg_basebackup -R``), removed at the end."""
    made = Cluster(_postgres_owned_tmpdir(prefix), free_port())
    try:
        backup = [str(bindir() / "pg_basebackup"), "-D", str(made.data), "-R", "-X", "stream"]
        backup += ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "--no-sync"]
        subprocess.run(as_postgres(backup), check=True, capture_output=True)
        made.start(settings)
        yield made
    finally:
        made.remove()
