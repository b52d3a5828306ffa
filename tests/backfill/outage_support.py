"""Services a test may break: the demo shop on a throwaway PostgreSQL cluster, a throwaway
Redis broker, and the faults the outage tests inject (imported as outage_support)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
from backfill_support import SAMPLE, ShopCopy, wait_for
from pg_clusters import Cluster, free_port, throwaway_cluster

# Durability is not under test: the cluster only ever crashes, never the machine.
FAST = {"fsync": "off", "full_page_writes": "off", "max_connections": "60"}


@contextmanager
def shop_on_cluster() -> Iterator[tuple[ShopCopy, Cluster]]:
    """The demo shop, migrated, on a PostgreSQL cluster of the test's own."""
    with throwaway_cluster("schemaops-bf-", FAST) as cluster:
        cluster.sql("CREATE DATABASE shop")
        env = {"SHOP_DB_NAME": "shop", "SHOP_DB_PORT": str(cluster.port), "CELERY_BROKER_URL": ""}
        full = {**os.environ, **env}
        full.pop("DJANGO_SETTINGS_MODULE", None)
        migrate = [sys.executable, "manage.py", "migrate", "-v", "0"]
        subprocess.run(migrate, cwd=SAMPLE, env=full, check=True, capture_output=True)
        server = {"host": "127.0.0.1", "port": str(cluster.port), "user": "postgres"}
        yield ShopCopy("shop", env, server), cluster


def restart_immediately(cluster: Cluster) -> None:
    """A crash and restart of PostgreSQL: every session gone, uncommitted work lost."""
    subprocess.run([*cluster.pg_ctl, "-m", "immediate", "stop"], check=True, capture_output=True)
    cluster.start(FAST)


def terminate_sessions(shop: ShopCopy) -> int:
    """pg_terminate_backend of every session of the shop's database but this one."""
    rows = shop.query(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    return int(rows[0][0])


def reachable(shop: ShopCopy) -> bool:
    try:
        shop.query("SELECT 1")
    except psycopg2.Error:
        return False
    return True


class Broker:
    """A redis-server of the test's own, on a free port, that it may kill and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._answers, 10, 0.05)

    def _answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.2).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@contextmanager
def throwaway_broker() -> Iterator[Broker]:
    broker = Broker()
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


@contextmanager
def frozen(pids: list[int], seconds: float) -> Iterator[None]:
    """SIGSTOP the processes for ``seconds`` (mid-batch, mid-claim: wherever they are)."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def failure_tail(proc: Any) -> str:
    """The last lines a finished CLI process wrote, for assertion messages."""
    out, err = proc.communicate(timeout=5) if proc.poll() is None else ("", "")
    return (str(out) + str(err))[-3000:]
