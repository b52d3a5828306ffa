"""PostgreSQL table lock modes and what each one blocks.

From the PostgreSQL 15 manual, "Explicit Locking", table 13.2. "Blocks" is
said in terms of the statements an application runs while a migration holds
the lock: plain reads (SELECT takes ACCESS SHARE), writes (INSERT, UPDATE,
DELETE take ROW EXCLUSIVE) and schema changes (DDL, VACUUM, CREATE INDEX).
"""

from __future__ import annotations

import enum


class Lock(enum.Enum):
    ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
    EXCLUSIVE = "EXCLUSIVE"
    SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
    SHARE = "SHARE"
    SHARE_UPDATE_EXCLUSIVE = "SHARE UPDATE EXCLUSIVE"
    ROW_EXCLUSIVE = "ROW EXCLUSIVE"
    ROW_SHARE = "ROW SHARE"
    ACCESS_SHARE = "ACCESS SHARE"

    @property
    def mode(self) -> str:
        """The name ``pg_locks.mode`` uses, e.g. ``AccessExclusiveLock``."""
        return "".join(word.capitalize() for word in self.value.split()) + "Lock"

    @property
    def blocks(self) -> str:
        return _BLOCKS[self]

    @property
    def blocks_reads(self) -> bool:
        return self is Lock.ACCESS_EXCLUSIVE

    @property
    def blocks_writes(self) -> bool:
        return self in (Lock.ACCESS_EXCLUSIVE, Lock.EXCLUSIVE, Lock.SHARE_ROW_EXCLUSIVE, Lock.SHARE)

    @property
    def strength(self) -> int:
        return _ORDER.index(self)

    def on(self, table: str, while_: str | None = None) -> str:
        """``ACCESS EXCLUSIVE on "t" (blocks reads, writes and DDL) while ...``."""
        text = f'{self.value} on "{table}" (blocks {self.blocks})'
        return f"{text} {while_}" if while_ else text

    @classmethod
    def from_mode(cls, mode: str) -> Lock | None:
        """Parse ``pg_locks.mode`` (``ShareUpdateExclusiveLock``)."""
        for lock in cls:
            if lock.mode == mode:
                return lock
        return None


_BLOCKS = {
    Lock.ACCESS_EXCLUSIVE: "reads, writes and schema changes",
    Lock.EXCLUSIVE: "writes and schema changes; reads go on",
    Lock.SHARE_ROW_EXCLUSIVE: "writes and schema changes; reads go on",
    Lock.SHARE: "writes and schema changes; reads go on",
    Lock.SHARE_UPDATE_EXCLUSIVE: "schema changes, VACUUM and ANALYZE; reads and writes go on",
    Lock.ROW_EXCLUSIVE: "CREATE INDEX and stronger locks; reads and writes go on",
    Lock.ROW_SHARE: "EXCLUSIVE and ACCESS EXCLUSIVE locks only",
    Lock.ACCESS_SHARE: "ACCESS EXCLUSIVE locks only",
}

_ORDER = [
    Lock.ACCESS_SHARE,
    Lock.ROW_SHARE,
    Lock.ROW_EXCLUSIVE,
    Lock.SHARE_UPDATE_EXCLUSIVE,
    Lock.SHARE,
    Lock.SHARE_ROW_EXCLUSIVE,
    Lock.EXCLUSIVE,
    Lock.ACCESS_EXCLUSIVE,
]
