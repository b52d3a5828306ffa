"""When to retry and how long to wait: lock timeouts, exponential backoff with jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass

from schemaops.trace.tracer import sqlstate

LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout fired (or NOWAIT)


def is_lock_timeout(exc: BaseException) -> bool:
    return sqlstate(exc) == LOCK_NOT_AVAILABLE


@dataclass(frozen=True)
class Backoff:
    """``base * 2**(attempt-1)``, times a random factor in [0.5, 1.5), capped at ``cap``.

    The jitter keeps several deploys (or several app servers) from retrying in
    lockstep against the same long transaction.
    """

    retries: int = 5
    base: float = 1.0
    cap: float = 60.0
    seed: int | None = None

    def delay(self, attempt: int) -> float:
        rng = random.Random(None if self.seed is None else self.seed + attempt)
        return min(self.cap, self.base * 2 ** (attempt - 1)) * rng.uniform(0.5, 1.5)
